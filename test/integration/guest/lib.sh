# Helpers for guest scripts (sourced inside the UML guest: `. "$GUEST_LIB"`).
# The guest runs as root with cwd=$MNT (the NFS mount), HOME/TMPDIR on a tmpfs.
#
#   step NAME FUNC   run FUNC in a subshell with `set -ex` from $MNT; prints "ok NAME"
#                    (then, indented, its duration and the lines it printed starting
#                    with "info: ") or "FAIL NAME (exit N)" followed by the step's
#                    trace (indented)
#   finish           prints a summary; exit status = number of failed steps
#   eq A B [WHAT]    fail unless A = B
#   fails_with TEXT CMD...   CMD must fail and its stderr must contain TEXT
#   drop_caches      sync + drop the guest page/dentry/inode caches (reads then go
#                    to the server)
#   quietly CMD...   run CMD without xtrace;  mkfiles PREFIX FROM TO: empty files
#   host_hook NAME [TIMEOUT]  ask the host to run hook NAME (test/lib/kernel.ts,
#                    startHostHook) and wait for its reply; fails on an error reply

FAILED=0
PASSED=0
STEP_OUT=${TMPDIR:-/tmp}/step.out

step() {
	local name=$1 fn=$2 rc t0
	t0=$(date +%s.%N)
	(
		set -ex
		cd "$MNT"
		"$fn"
	) >"$STEP_OUT" 2>&1 </dev/null &
	wait $!
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok $name"
		echo "    $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1fs", b - a}')"
		grep '^info: ' "$STEP_OUT" | sed 's/^/    /'
		PASSED=$((PASSED + 1))
	else
		echo "FAIL $name (exit $rc)"
		tail -n 40 "$STEP_OUT" | sed 's/^/    /'
		FAILED=$((FAILED + 1))
	fi
}

finish() {
	echo "steps: $PASSED ok, $FAILED failed"
	exit "$FAILED"
}

eq() {
	if [ "$1" != "$2" ]; then
		printf 'MISMATCH%s: got [%s] expected [%s]\n' "${3:+ ($3)}" "$1" "$2" >&2
		return 1
	fi
}

fails_with() {
	local text=$1 err rc
	shift
	err=$("$@" 2>&1 >/dev/null) && rc=0 || rc=$?
	if [ "$rc" = 0 ]; then
		echo "UNEXPECTED SUCCESS: $*" >&2
		return 1
	fi
	case $err in
	*"$text"*) return 0 ;;
	esac
	echo "WRONG ERROR for $*: got [$err] expected to contain [$text]" >&2
	return 1
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

host_hook() {
	local name=$1 limit=${2:-60} reply i=0
	[ -n "${HOST_HOOK:-}" ] || { echo "host_hook: HOST_HOOK not set" >&2; return 1; }
	case $name in restart) reply=restarted ;; *) reply=$name.done ;; esac
	rm -f "$HOST_HOOK/$reply"
	echo "$name" >"$HOST_HOOK/request-$name"
	while [ $i -lt $((limit * 10)) ]; do
		# readdir, not stat: hostfs may cache a negative dentry for the reply
		if ls "$HOST_HOOK" | grep -qxF "$reply"; then
			local r
			r=$(cat "$HOST_HOOK/$reply")
			rm -f "$HOST_HOOK/$reply"
			[ "$r" = ok ] && return 0
			echo "host_hook $name: $r" >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "host_hook $name: no reply within ${limit}s" >&2
	return 1
}

# quietly CMD...: run CMD without the xtrace (keeps failure traces short)
quietly() {
	{ set +x; } 2>/dev/null
	local rc=0
	"$@" || rc=$?
	set -x
	return $rc
}

# mkfiles PREFIX FROM TO: create empty files PREFIX<n> (shell built-ins only, no fork)
mkfiles() {
	local i=$2
	while [ "$i" -le "$3" ]; do
		: >"$1$i" || return 1
		i=$((i + 1))
	done
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
