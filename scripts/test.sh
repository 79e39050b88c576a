#!/usr/bin/env bash
# The test command (npm test, .ci/run): install what is missing, build, lint (eslint), type-check the tests, check the
# layering (dependency-cruiser, .dependency-cruiser.cjs), then run every vitest suite (unit tests in
# parallel, then the integration files one at a time: libnfs-utils and the real Linux kernel NFS client
# against the real daemon).
# Extra arguments go to vitest (e.g. a file filter).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run build
npm run lint
npm run typecheck
npm run depcheck
npm run format:check
npx vitest run "$@"
