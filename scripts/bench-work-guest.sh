#!/bin/sh
# Guest half of scripts/bench-work.mjs: a developer's shell workload on the NFS mount ($MNT, the cwd),
# in a directory work/, run by the Linux kernel client in a user-mode Linux guest (../shared/tools/nfs-kernel-client.sh).
# Every step is timed inside the guest and printed as "WORK_STEP <name> <seconds>"; a failing step
# prints "WORK_FAIL <name>" with its output and the script exits 1.
# Env (from bench-work.mjs): WORK_BARE (bare repository, read-only host path), WORK_TAR (node_modules
# tarball), WORK_SQL (2,000 INSERTs in one transaction), WORK_SAVES (editor saves, default 200), WORK_ONLY
# (space-separated steps to run, for experiments: saves needs clone).
set -u
cd "$MNT" && mkdir work && cd work || exit 1
export HOME="${TMPDIR:-/tmp}" GIT_CONFIG_NOSYSTEM=1
# the bare repository belongs to the host user; the guest runs as root
git config --global --add safe.directory '*'
git config --global advice.detachedHead false
OUT="${TMPDIR:-/tmp}/work-step.out"

now() { date +%s%N; }
n=10
mark() { # name: tells bench-work.mjs a step starts (it scrapes mic-fs's metrics), waits for its answer
	[ -n "${WORK_MARKS:-}" ] || return 0
	n=$((n + 1))
	: >"$WORK_MARKS/$n-$1"
	w=0
	while [ ! -e "$WORK_MARKS/$n-$1.ack" ] && [ "$w" -lt 200 ]; do
		sleep 0.05
		w=$((w + 1))
	done
}
calls() { grep '^proc3 ' /proc/net/rpc/nfs 2>/dev/null; }
# the client's NFSv3 calls during a step (from /proc/net/rpc/nfs), the same measure for every server
calls_diff() {
	printf '%s\n%s\n' "$1" "$2" | awk -v step="$3" '
		BEGIN { split("null getattr setattr lookup access readlink read write create mkdir symlink mknod remove rmdir rename link readdir readdirplus fsstat fsinfo pathconf commit", p, " ") }
		NR == 1 { for (i = 3; i <= NF; i++) a[i] = $i }
		NR == 2 { s = "WORK_CALLS " step; t = 0; for (i = 3; i <= NF; i++) if ($i - a[i] > 0) { s = s " " p[i - 2] "=" ($i - a[i]); t += $i - a[i] } print s " total=" t }'
}
# the client's own view per NFS operation (/proc/self/mountstats of this mount, kernel 6.1 fields):
# "OP ops transmissions major_timeouts bytes_sent bytes_recv queue_ms rtt_ms execute_ms [errors]",
# plus the mount's "events:" counters (inode/dentry revalidations, attribute invalidations, ...)
opstats() {
	awk -v mnt="$MNT" '$1 == "device" { on = ($5 == mnt); ops = 0; next }
		on && $1 == "events:" { $1 = "EVENTS"; print; next }
		on && /per-op statistics/ { ops = 1; next }
		on && ops && $1 ~ /:$/ { sub(/:$/, "", $1); print }' /proc/self/mountstats 2>/dev/null
}
opstats_diff() { # before after step: "WORK_OPSTATS step OP=n,n,... EVENTS=n,n,..." for ops used in the step
	printf '%s\n--\n%s\n' "$1" "$2" | awk -v step="$3" '
		$0 == "--" { second = 1; next }
		!second { for (i = 2; i <= NF; i++) a[$1, i] = $i; next }
		{ s = ""; for (i = 2; i <= NF; i++) s = s (i > 2 ? "," : "") ($i - a[$1, i]); if ($1 == "EVENTS" || $2 - a[$1, 2] > 0) out = out " " $1 "=" s }
		END { print "WORK_OPSTATS " step out }'
}
# the mount as the client negotiated it (rsize/wsize/acregmin.. from FSINFO and the options; caps)
awk -v mnt="$MNT" '$1 == "device" { on = ($5 == mnt); next } on && ($1 == "opts:" || $1 == "caps:") { print "WORK_MOUNT " $0 }' /proc/self/mountstats 2>/dev/null
step() { # name command...: runs the command in the current shell, prints its wall time
	name=$1
	shift
	case " ${WORK_ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
	mark "$name"
	c0=$(calls)
	o0=$(opstats)
	t0=$(now)
	if ! "$@" >"$OUT" 2>&1; then
		echo "WORK_FAIL $name"
		sed 's/^/  /' "$OUT" | tail -20
		exit 1
	fi
	t1=$(now)
	echo "WORK_STEP $name $(((t1 - t0) / 1000000))e-3"
	[ -z "$c0" ] || calls_diff "$c0" "$(calls)" "$name"
	[ -z "$o0" ] || opstats_diff "$o0" "$(opstats)" "$name"
}

clone() { git clone -q --depth 1 "file://$WORK_BARE" repo; }
status() { (cd repo && git status --porcelain && git status >/dev/null); }
grep_r() { grep -r -c lua_State repo >/dev/null; }
build() { make -C repo -j2; }
untar() { mkdir nm && tar -xf "$WORK_TAR" -C nm; }
find_nm() { find nm -type f | wc -l; }
du_nm() { du -s nm; }
sqlite() { sqlite3 work.db <"$WORK_SQL"; }
saves() {
	src="${TMPDIR:-/tmp}/lvm.c"
	cp repo/lvm.c "$src"
	i=0
	while [ "$i" -lt "${WORK_SAVES:-200}" ]; do
		# what an editor does on save: write a temporary file next to the file, rename it over
		{
			cat "$src"
			echo "/* save $i */"
		} >repo/.lvm.c.tmp
		mv repo/.lvm.c.tmp repo/lvm.c
		i=$((i + 1))
	done
}
remove() { cd "$MNT" && rm -rf work && [ ! -e work ]; }
# How many index entries git status will read again: "racily clean" ones, whose mtime's second is not before the
# index file's (git's is_racy_timestamp without USE_NSEC). Each costs the step an open (close-to-open GETATTR, and an
# ACCESS: the clone's O_CREAT opens never filled the access cache) per git status that finds it racy, so the step's
# calls follow where the second boundary fell during checkout, whatever the server. Reads only the index.
racy_clean() {
	case " ${WORK_ONLY:-git_status} " in *" git_status "*) ;; *) return 0 ;; esac
	[ -f repo/.git/index ] || return 0
	t=$(stat -c %Y repo/.git/index)
	git -C repo ls-files --debug | awk -v t="$t" '$1 == "mtime:" { n++; split($2, a, ":"); if (a[1] + 0 >= t + 0) r++ } END { print "WORK_RACY git_status " r + 0 " " n + 0 }'
}

step clone clone
racy_clean
step git_status status
step grep grep_r
step make build
step untar untar
step find find_nm
step du du_nm
step sqlite sqlite
step saves saves
step rm remove
mark end
echo WORK_DONE
