#!/usr/bin/env bash
# scripts/bench-before-after.sh BASE_COMMIT [REPS] [-- NFS-BENCH-OPTIONS]
# The same NFS benchmark (scripts/bench.sh, mic-fs only) against the build of BASE_COMMIT and the build
# of this checkout, interleaved rep by rep (base, head, base, head, ...) so that background drift spreads
# over both. Used for issue 9's "no row worse than noise" table.
# stdout: JSON {base, head, reps, rows: {key: {base, head, ratio, spreads, server CPU µs per op}}};
# a markdown table on stderr. Ratio = head / base of the median over reps (> 1: head is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BASE=${1:?usage: bench-before-after.sh BASE_COMMIT [REPS] [-- NFS-BENCH-OPTIONS]}
shift
REPS=3
if [ $# -gt 0 ] && [ "$1" != -- ]; then REPS=$1; shift; fi
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || set -- -r 1 -S 256m -t 3 -N 2000
log() { echo "bench-before-after: $*" >&2; }

BASE_DIR=$(mktemp -d /dev/shm/mic-base.XXXXXX)
OUT=$(mktemp -d /tmp/mic-before-after.XXXXXX)
trap 'rm -rf "$BASE_DIR"' EXIT
log "building $BASE in $BASE_DIR"
git archive "$BASE" | tar -x -C "$BASE_DIR"
ln -s "$REPO/node_modules" "$BASE_DIR/node_modules"
(cd "$BASE_DIR" && npx tsc -p tsconfig.json) >&2
npm run build --silent >&2

for rep in $(seq "$REPS"); do
	for side in base head; do
		root=$REPO
		[ "$side" = base ] && root=$BASE_DIR
		log "rep $rep/$REPS: $side"
		BENCH_SERVERS=mic BENCH_S3=0 BENCH_GIT=0 BENCH_UI=0 BENCH_SCALE=0 BENCH_WORK=0 BENCH_MIC_ROOT=$root \
			bash scripts/bench.sh "$@" >/dev/null
		cp .bench/mic.json "$OUT/$side-$rep.json"
	done
done

node - "$OUT" "$REPS" "$BASE" "$(git rev-parse --short HEAD)" <<'JS'
const fs = require('node:fs');
const [out, reps, base, head] = process.argv.slice(2);
const load = (side) => Array.from({ length: Number(reps) }, (_, i) => JSON.parse(fs.readFileSync(`${out}/${side}-${i + 1}.json`, 'utf8')).results);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const spread = (xs) => Math.round(((Math.max(...xs) - Math.min(...xs)) / med(xs)) * 1000) / 10;
const b = load('base'), h = load('head');
const rows = {};
for (const k of Object.keys(b[0])) {
  if (!h.every((r) => r[k])) continue;
  const bv = b.map((r) => r[k].median), hv = h.map((r) => r[k].median);
  const bc = b.map((r) => r[k].srv_cpu_us_per_op), hc = h.map((r) => r[k].srv_cpu_us_per_op);
  rows[k] = {
    unit: b[0][k].unit, base: med(bv), head: med(hv), ratio: Math.round((med(hv) / med(bv)) * 1000) / 1000,
    base_spread_pct: spread(bv), head_spread_pct: spread(hv), base_srv_cpu_us_per_op: med(bc), head_srv_cpu_us_per_op: med(hc),
  };
}
const lines = [`| test | unit | ${base} | ${head} | head/base | spread base/head % | server CPU µs/op base/head |`, '|---|---|---|---|---|---|---|'];
for (const [k, r] of Object.entries(rows)) {
  lines.push(`| ${k} | ${r.unit} | ${r.base} | ${r.head} | ${r.ratio} | ${r.base_spread_pct}/${r.head_spread_pct} | ${r.base_srv_cpu_us_per_op}/${r.head_srv_cpu_us_per_op} |`);
}
process.stderr.write(lines.join('\n') + '\n');
console.log(JSON.stringify({ base, head, reps: Number(reps), rows }, null, 2));
JS
