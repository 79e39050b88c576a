#!/usr/bin/env bash
# Stop the cluster started by scripts/s3-start.sh [BASE] and remove BASE.
#
#   scripts/s3-stop.sh [BASE] [keep]     (default BASE=/tmp/mic-s3; "keep" or KEEP=1 leaves BASE in place)
#
# Only the processes named in BASE/run/*.pid are signalled, and only when their command line still refers
# to BASE/ceph.conf (so a recycled PID is never touched).
BASE=${1:-/tmp/mic-s3}
KEEP_DIR=${KEEP:-}
[ "${2:-}" = keep ] && KEEP_DIR=1

ours() { # pid -> true if it is one of this cluster's daemons
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -qaF "$BASE/ceph.conf" "/proc/$1/cmdline" 2>/dev/null
}

pids=()
for f in "$BASE"/run/client.rgw.a.pid "$BASE"/run/osd.*.pid "$BASE"/run/mon.a.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f" 2>/dev/null || true)
  ours "$pid" || continue
  kill -TERM "$pid" 2>/dev/null || true
  pids+=("$pid")
done
for pid in "${pids[@]}"; do
  for _ in $(seq 1 50); do ours "$pid" || break; sleep 0.1; done
  ours "$pid" && kill -KILL "$pid" 2>/dev/null || true
done
[ -n "$KEEP_DIR" ] || rm -rf "$BASE"
exit 0
