#!/usr/bin/env bash
# conformance.sh - run pjdfstest (POSIX syscall conformance) as root through the real Linux kernel
# NFSv3 client (user-mode Linux) against a fresh mic-fs daemon and session, and print its summary.
#
# usage: scripts/conformance.sh [--set "chmod rename/09.t ..."] [--log FILE] [--timeout S]
#   --set      test dirs/files relative to pjdfstest's tests/ (default: the whole suite, ~45 min)
#   --log      full TAP log (default /tmp/mic-conformance.<pid>.log)
# Needs ../shared/tools/pjdfstest.sh next to the repository (or $PJDFSTEST) and `npm run build`.
# Last line:  CONFORMANCE mic-fs files=N failed_files=F failed_subtests=S total_subtests=T
# Exit status: that of pjdfstest.sh (0 all passed, 1 some failed, 124 timeout, 125 setup error).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PJD=${PJDFSTEST:-$ROOT/../shared/tools/pjdfstest.sh}
SET=; LOG=/tmp/mic-conformance.$$.log; TO=4000
while [ $# -gt 0 ]; do case $1 in
  --set) SET=$2; shift 2;; --log) LOG=$2; shift 2;; --timeout) TO=$2; shift 2;;
  -h|--help) sed -n 2,10p "$0"; exit 0;; *) echo "unknown argument $1" >&2; exit 125;; esac; done
[ -x "$PJD" ] || [ -f "$PJD" ] || { echo "pjdfstest.sh not found at $PJD" >&2; exit 125; }
[ -f dist/src/cli/main.js ] || npm run build --silent || exit 125

DATA=$(mktemp -d /tmp/mic-conformance.XXXXXX)
SRC=$(mktemp -d /tmp/mic-conformance-src.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$DATA" "$SRC"; }
trap cleanup EXIT
mic() { node dist/src/cli/main.js "$@" --data-dir "$DATA"; }

echo "pjdfstest conformance" >"$SRC/README"
mic project init conformance/pjdfstest --from "$SRC" >/dev/null || exit 125
EXPORT=$(mic session start --project conformance/pjdfstest --goal pjdfstest --json |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).session.export))') || exit 125
node dist/src/cli/main.js serve --data-dir "$DATA" --bind 127.0.0.1 --port 0 --api-port off --log-level info \
  >"$DATA/daemon.log" 2>&1 &
PID=$!
PORT=
for _ in $(seq 1 300); do
  PORT=$(grep -o '"msg":"listening"[^}]*' "$DATA/daemon.log" 2>/dev/null | grep -o '"port":[0-9]*' | head -1 | cut -d: -f2)
  [ -z "$PORT" ] && PORT=$(grep -o '"port":[0-9]*[^}]*"msg":"listening"' "$DATA/daemon.log" 2>/dev/null | grep -o '"port":[0-9]*' | head -1 | cut -d: -f2)
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$DATA/daemon.log" >&2; exit 125; }
  sleep 0.1
done
[ -n "$PORT" ] || { echo "daemon did not start" >&2; cat "$DATA/daemon.log" >&2; exit 125; }

ARGS=(--timeout "$TO" --log "$LOG")
[ -n "$SET" ] && ARGS+=(--set "$SET")
OUT=$(bash "$PJD" "${ARGS[@]}" 127.0.0.1 "$PORT" "$PORT" "$EXPORT"); rc=$?
echo "$OUT" | sed '$d'
SUMMARY=$(echo "$OUT" | grep '^PJDFSTEST ' | tail -1)
echo "CONFORMANCE mic-fs ${SUMMARY#PJDFSTEST } log=$LOG"
exit $rc
