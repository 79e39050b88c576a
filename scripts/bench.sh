#!/usr/bin/env bash
# npm run bench [-- NFS-BENCH-OPTIONS]: mic-fs and nfs-ganesha side by side, measured with
# ../shared/tools/nfs-bench.sh (user-space libnfs clients), one server at a time:
#   - mic-fs: data dir on /dev/shm, one session of a tiny project, server pinned to CPU 1;
#   - nfs-ganesha 4.3 (../shared/tools/ganesha-start.sh): FSAL_VFS export of a tmpfs dir
#     under /dev/shm, pinned to CPU 1;
#   - the benchmark client pinned to CPU 0 (-c 0), server CPU measured (-P PID).
# Options are passed to nfs-bench.sh, e.g. --quick, -r 1, -T null,meta, -S 256m; by default it runs 3 reps
# and reports min/median/max of each row, and the ratios below are of the medians.
# stdout: one JSON object {mic, ganesha, ratios, ratios_all} (ratio = mic / ganesha of
# the median; > 1 means mic-fs is faster, for every key including latency-free ones);
# also written to .bench/result.json. Tables and logs go to stderr and .bench/.
# Env: BENCH_SERVERS=mic,ganesha (subset), BENCH_CLIENT_CPU (0), BENCH_SERVER_CPU (1),
# BENCH_S3=0 skips the S3 benchmarks (scripts/bench-s3.mjs, key "s3" in the JSON), BENCH_UI=0 the web UI
# benchmark (scripts/bench-ui.mjs, key "ui": the session page of a session with 1,000 changes in chromium),
# BENCH_GIT=0 the import-git/export-git ones (scripts/bench-git.mjs, key "git"), BENCH_SCALE=0 the scale ones
# (scripts/bench-scale.mjs, key "scale": landing into a 100k-file head, 10k sessions, RSS of idle sessions,
# log and blame over 100k heads; a few minutes).
# BENCH_FLOOR=1 also runs nfs-bench's null rows (only those) against two do-nothing responders, the floor of a
# call on this machine and client: scripts/bench-floor.c (C, epoll, built here with gcc) and
# scripts/bench-floor.mjs (Node `net`, no parsing), pinned like the servers; key "floor" in the JSON and the
# ratios floor_c_null_qd1 / floor_node_null_qd1 (floor / ganesha). Informational: a benchmark, never a test.
# BENCH_MIC_ROOT=DIR runs the mic-fs build in DIR (a built checkout of another commit) instead of this one;
# scripts/bench-before-after.sh uses it to compare two commits in one run. BENCH_NODE_ARGS: extra node
# flags for the mic-fs server, e.g. "--cpu-prof --cpu-prof-dir=$PWD/.prof" to profile it.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
TOOLS=$(dirname "$REPO")/shared/tools
OUT=$REPO/.bench
SERVERS=${BENCH_SERVERS:-mic,ganesha}
CCPU=${BENCH_CLIENT_CPU:-0}
SCPU=${BENCH_SERVER_CPU:-1}
MIC_ROOT=${BENCH_MIC_ROOT:-$REPO}
log() { echo "bench: $*" >&2; }

[ -x "$TOOLS/nfs-bench.sh" ] || { log "missing $TOOLS/nfs-bench.sh (shared/ must sit next to the repository)"; exit 1; }
bash scripts/install-deps.sh >&2
npm run build --silent >&2

if [ "$(nproc)" -lt 2 ]; then
	log "only $(nproc) CPU: not pinning"
	CLIENT_PIN=() SERVER_PIN=() GANESHA_PIN=()
else
	CLIENT_PIN=(-c "$CCPU") SERVER_PIN=(taskset -c "$SCPU") GANESHA_PIN=(-c "$SCPU")
fi

rm -rf "$OUT"
mkdir -p "$OUT"
MIC_PID="" GANESHA_PID="" MIC_DIR="" G_DIR="" FLOOR_PID=""
stop_pid() { # pid: SIGTERM, wait up to 10 s, then SIGKILL
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
}
cleanup() {
	[ -n "$MIC_PID" ] && stop_pid "$MIC_PID"
	[ -n "$GANESHA_PID" ] && stop_pid "$GANESHA_PID"
	[ -n "$FLOOR_PID" ] && stop_pid "$FLOOR_PID"
	[ -n "$MIC_DIR" ] && rm -rf "$MIC_DIR"
	[ -n "$G_DIR" ] && rm -rf "$G_DIR"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { # a TCP port nothing listens on (from $1 up)
	local p=$1
	while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
	echo "$p"
}

bench_json() { # label -> extracts NFS_BENCH_JSON from .bench/<label>.txt into <label>.json
	local line
	line=$(grep '^NFS_BENCH_JSON=' "$OUT/$1.txt" | tail -1) || { log "$1: no NFS_BENCH_JSON line"; return 1; }
	printf '%s\n' "${line#NFS_BENCH_JSON=}" >"$OUT/$1.json"
}

run_mic() {
	local mic=(node "$MIC_ROOT/dist/src/cli/main.js") src sid port
	MIC_DIR=$(mktemp -d /dev/shm/mic-bench.XXXXXX)
	src=$(mktemp -d /dev/shm/mic-bench-src.XXXXXX)
	echo "benchmark project" >"$src/README.md"
	"${mic[@]}" project init bench/nfs --from "$src" --data-dir "$MIC_DIR/data" >&2
	rm -rf "$src"
	sid=$("${mic[@]}" session start --project bench/nfs --goal benchmark --json --data-dir "$MIC_DIR/data" |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).session.session_id))')
	# shellcheck disable=SC2086 # BENCH_NODE_ARGS is a list of flags
	"${SERVER_PIN[@]}" node ${BENCH_NODE_ARGS:-} "${mic[@]:1}" serve --data-dir "$MIC_DIR/data" --bind 127.0.0.1 --port 0 \
		--log-level info >"$OUT/mic-serve.log" 2>&1 &
	MIC_PID=$!
	port=""
	for _ in $(seq 300); do
		port=$(grep -m1 '"msg":"listening"' "$OUT/mic-serve.log" 2>/dev/null | grep -o '"port":[0-9]*' | head -1 | cut -d: -f2) || true
		[ -n "$port" ] && break
		kill -0 "$MIC_PID" 2>/dev/null || { cat "$OUT/mic-serve.log" >&2; log "mic-fs exited"; exit 1; }
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$OUT/mic-serve.log" >&2; log "mic-fs did not start listening"; exit 1; }
	log "mic-fs pid $MIC_PID port $port export /exports/sessions/$sid (data $MIC_DIR)"
	"$TOOLS/nfs-bench.sh" -s 127.0.0.1 -n "$port" -m "$port" -e "/exports/sessions/$sid" \
		"${CLIENT_PIN[@]}" -P "$MIC_PID" -L mic-fs -o "$OUT/mic" "$@" | tee "$OUT/mic.txt" >&2
	bench_json mic
	stop_pid "$MIC_PID"
	MIC_PID=""
	rm -rf "$MIC_DIR"
	MIC_DIR=""
}

run_ganesha() {
	local np mp
	G_DIR=$(mktemp -d /dev/shm/ganesha-bench.XXXXXX)
	chmod 777 "$G_DIR"
	np=$(free_port 32049)
	mp=$(free_port $((np + 1)))
	GANESHA_PID=$("$TOOLS/ganesha-start.sh" -n "$np" -m "$mp" -e "$G_DIR" -s "$OUT/ganesha-state" "${GANESHA_PIN[@]}")
	log "nfs-ganesha pid $GANESHA_PID ports $np/$mp export $G_DIR"
	"$TOOLS/nfs-bench.sh" -s 127.0.0.1 -n "$np" -m "$mp" -e "$G_DIR" \
		"${CLIENT_PIN[@]}" -P "$GANESHA_PID" -L nfs-ganesha -o "$OUT/ganesha" "$@" | tee "$OUT/ganesha.txt" >&2
	bench_json ganesha
	stop_pid "$GANESHA_PID"
	GANESHA_PID=""
	rm -rf "$G_DIR"
	G_DIR=""
}

run_floor() { # label command...: a do-nothing responder that prints "port N"; nfs-bench's null rows only
	local label=$1 port="" pid
	shift
	"${SERVER_PIN[@]}" "$@" >"$OUT/$label-serve.log" 2>&1 &
	pid=$! FLOOR_PID=$!
	for _ in $(seq 100); do
		port=$(awk '/^port /{print $2; exit}' "$OUT/$label-serve.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { stop_pid "$pid"; log "$label did not start"; return 1; }
	"$TOOLS/nfs-bench.sh" -s 127.0.0.1 -n "$port" -m "$port" -e /floor \
		"${CLIENT_PIN[@]}" -P "$pid" -L "$label" -o "$OUT/$label" "${FLOOR_ARGS[@]}" -T null | tee "$OUT/$label.txt" >&2
	bench_json "$label" || true
	stop_pid "$pid"
	FLOOR_PID=""
}

if [ "${BENCH_FLOOR:-0}" != 0 ]; then
	FLOOR_ARGS=("$@")
	gcc -O2 -Wall -o "$OUT/bench-floor" scripts/bench-floor.c
	run_floor floor-c "$OUT/bench-floor" 0
	run_floor floor-node node scripts/bench-floor.mjs 0
fi
case ",$SERVERS," in *,mic,*) run_mic "$@" ;; esac
case ",$SERVERS," in *,ganesha,*) run_ganesha "$@" ;; esac
if [ "${BENCH_GIT:-1}" != 0 ]; then
	log "git import/export benchmarks (scripts/bench-git.mjs)"
	node --no-warnings scripts/bench-git.mjs >"$OUT/git.json" 2>"$OUT/git.log" || { cat "$OUT/git.log" >&2; log "git benchmarks failed"; }
fi
if [ "${BENCH_S3:-1}" != 0 ]; then
	log "S3 benchmarks (scripts/bench-s3.mjs)"
	node --no-warnings scripts/bench-s3.mjs >"$OUT/s3.json" 2>"$OUT/s3.log" || { cat "$OUT/s3.log" >&2; log "S3 benchmarks failed"; }
fi
if [ "${BENCH_SCALE:-1}" != 0 ]; then
	log "scale benchmarks (scripts/bench-scale.mjs)"
	node --no-warnings scripts/bench-scale.mjs >"$OUT/scale.json" 2>"$OUT/scale.log" || { cat "$OUT/scale.log" >&2; log "scale benchmarks failed"; }
fi
if [ "${BENCH_UI:-1}" != 0 ]; then
	log "web UI benchmark (scripts/bench-ui.mjs)"
	node --no-warnings scripts/bench-ui.mjs >"$OUT/ui.json" 2>"$OUT/ui.log" || { cat "$OUT/ui.log" >&2; log "UI benchmark failed"; }
fi

node - "$OUT" <<'EOF' | tee "$OUT/result.json"
const fs = require('node:fs');
const out = process.argv[2];
const read = (n) => (fs.existsSync(`${out}/${n}.json`) ? JSON.parse(fs.readFileSync(`${out}/${n}.json`, 'utf8')) : null);
const mic = read('mic');
const ganesha = read('ganesha');
const HEADLINE = [
  'null_qd16', 'getattr_qd16', 'lookup_qd16',
  'seqread_1m_qd16', 'seqwrite_1m_qd16', 'seqread_1m_qd1', 'seqwrite_1m_qd1',
  'randread_4k_qd16', 'randwrite_4k_qd16',
  'create_qd16', 'remove_qd16', 'create_qd1', 'remove_qd1', 'readdirplus',
];
const ratio = (k) => {
  const a = mic?.results?.[k]?.median;
  const b = ganesha?.results?.[k]?.median;
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;
};
const ratios = Object.fromEntries(HEADLINE.map((k) => [k, ratio(k)]));
const keys = Object.keys(mic?.results ?? {}).filter((k) => k in (ganesha?.results ?? {}));
const ratios_all = Object.fromEntries(keys.map((k) => [k, ratio(k)]));
const s3 = read('s3');
if (s3?.read) Object.assign(ratios, { s3_cold_read_vs_sdk_get: s3.read.cold_vs_sdk_get, s3_warm_read_vs_local: s3.read.warm_vs_local });
if (s3?.bucket) ratios.s3_bucket_vs_compressed_data = s3.bucket.bucket_vs_baseline;
const ui = read('ui');
const git = read('git');
for (const h of ['lua', 'generated']) {
  if (git?.[h]) Object.assign(ratios, { [`git_import_${h}_vs_git`]: git[h].import_vs_git, [`git_export_${h}_vs_git`]: git[h].export_vs_git });
}
const scale = read('scale');
const floorC = read('floor-c');
const floorNode = read('floor-node');
const floor = floorC || floorNode ? { c: floorC?.results ?? null, node: floorNode?.results ?? null } : null;
const vsGanesha = (f) => {
  const a = f?.results?.null_qd1?.median;
  const b = ganesha?.results?.null_qd1?.median;
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? Math.round((a / b) * 1000) / 1000 : null;
};
if (floorC) ratios.floor_c_null_qd1 = vsGanesha(floorC);
if (floorNode) ratios.floor_node_null_qd1 = vsGanesha(floorNode);
console.log(JSON.stringify({ mic, ganesha, ratios, ratios_all, s3, ui, git, scale, floor }, null, 2));
EOF
