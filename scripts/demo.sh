#!/usr/bin/env bash
# npm start: build, import a demo project (first run only), start a session and serve it.
# Data dir: MIC_DATA_DIR (default ~/.mic); port: MIC_PORT (default 2049).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/src/cli/main.js ] && [ -z "$(find src rpc util -newer dist/src/cli/main.js -name '*.ts' | head -1)" ] || npm run build --silent
export MIC_DATA_DIR=${MIC_DATA_DIR:-$HOME/.mic}
export MIC_PORT=${MIC_PORT:-2049}
mic() { node dist/src/cli/main.js "$@"; }
if ! mic project head demo/app >/dev/null 2>&1; then
  src=$(mktemp -d)
  cp -r README.md src rpc util "$src"/
  mic project init demo/app --from "$src"
  rm -rf "$src"
fi
mic session start --project demo/app --goal "try mic-fs" --port "$MIC_PORT"
echo "serving on 127.0.0.1:$MIC_PORT (data in $MIC_DATA_DIR); Ctrl-C stops"
exec node dist/src/cli/main.js serve
