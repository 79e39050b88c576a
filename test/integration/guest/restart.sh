#!/bin/bash
# The NFS daemon is restarted (SIGKILL, later SIGTERM) by the host between steps
# while this client stays mounted and keeps files and a directory open.
# Expect: no ESTALE, no I/O errors, data synced before the restart intact, data
# written (unsynced) before the restart intact after a sync afterwards.
# A third file is being written with O_DIRECT (WRITEs on the wire) while the daemon is
# killed; the writer must finish without error and the file must be intact.
# Env: HOST_HOOK (startHostHook dir), RESTART_SRC1..3 (host files), RESTART_SHA1..3
# (their SHA-256).
. "$GUEST_LIB"
mkfifo "$TMPDIR/go"

s_before() {
	mkdir d
	dd if="$RESTART_SRC1" of=d/synced.bin bs=1M status=none
	echo "kept open" >d/small.txt
	echo "line1" >d/append.txt
	mkdir d/sub
	echo inner >d/sub/inner.txt
	sync
	# written but not synced: may still be dirty in the client, or sent UNSTABLE
	# and not yet committed when the server dies
	dd if="$RESTART_SRC2" of=d/unsynced.bin bs=1M status=none
	eq "$(sha d/synced.bin)" "$RESTART_SHA1"
}

s_restart_kill() {
	# wait until the O_DIRECT writer is well under way, then have the daemon killed
	for i in $(seq 300); do
		[ "$(stat -c %s d/inflight.bin 2>/dev/null || echo 0)" -gt 4194304 ] && break
		sleep 0.1
	done
	[ ! -s "$TMPDIR/inflight.rc" ] || { echo "writer finished before the restart: test too fast" >&2; exit 1; }
	host_hook restart 90
}

s_after_kill() {
	# file handles held across the restart
	eq "$(cat <&3)" "kept open" "read via fd opened before the restart"
	echo "line2" >&4
	# the directory held as cwd by the background shell
	echo go >"$TMPDIR/go"
	for i in $(seq 100); do [ -s "$TMPDIR/cwd.rc" ] && break; sleep 0.1; done
	eq "$(cat "$TMPDIR/cwd.rc")" 0 "ls in cwd held across the restart: $(cat "$TMPDIR/cwd.out")"
	eq "$(sort "$TMPDIR/cwd.out" | tr '\n' ' ')" "append.txt inflight.bin small.txt sub synced.bin unsynced.bin " "cwd listing"
	# lookups from the root
	eq "$(ls d | tr '\n' ' ')" "append.txt inflight.bin small.txt sub synced.bin unsynced.bin "
	eq "$(cat d/sub/inner.txt)" inner
	drop_caches
	eq "$(sha d/synced.bin)" "$RESTART_SHA1" "synced data after SIGKILL restart"
	sync
	drop_caches
	eq "$(sha d/unsynced.bin)" "$RESTART_SHA2" "data written before the restart, synced after"
	eq "$(cat d/append.txt | tr '\n' ' ')" "line1 line2 " "append through fd held across the restart"
	# the writer that was mid-file during the kill
	for i in $(seq 1200); do [ -s "$TMPDIR/inflight.rc" ] && break; sleep 0.1; done
	eq "$(cat "$TMPDIR/inflight.rc")" 0 "O_DIRECT writer across the restart: $(cat "$TMPDIR/inflight.err")"
	drop_caches
	eq "$(sha d/inflight.bin)" "$RESTART_SHA3" "file written with O_DIRECT across the restart"
	# new work after the restart
	echo after >d/new.txt
	mv d/new.txt d/sub/renamed.txt
	mkdir d/newdir
	rm d/small.txt
	ln -s sub/renamed.txt d/link
	drop_caches
	eq "$(cat d/link)" after
	eq "$(ls d | tr '\n' ' ')" "append.txt inflight.bin link newdir sub synced.bin unsynced.bin "
}

s_restart_term() { host_hook restart-term 90; }

s_after_term() {
	echo "line3" >&4
	exec 4>&-
	eq "$(cat <&3)" "" "fd at EOF, still valid"
	exec 3<&-
	drop_caches
	eq "$(cat d/append.txt | tr '\n' ' ')" "line1 line2 line3 "
	eq "$(sha d/synced.bin)" "$RESTART_SHA1"
	eq "$(sha d/unsynced.bin)" "$RESTART_SHA2"
	eq "$(sha d/inflight.bin)" "$RESTART_SHA3"
	eq "$(cat d/sub/renamed.txt)" after
	[ -d d/newdir ]
	[ ! -e d/small.txt ]
	rm -r d/newdir
	[ ! -e d/newdir ]
}

step before s_before
exec 3<"$MNT/d/small.txt" 4>>"$MNT/d/append.txt"
# a process whose cwd is d/ across the restart; lists it when told to
(cd "$MNT/d" && read -r _ <"$TMPDIR/go" && ls >"$TMPDIR/cwd.out" 2>&1; echo $? >"$TMPDIR/cwd.rc") &
# a writer that is mid-file when the daemon is killed (O_DIRECT: every block is a WRITE)
(dd if="$RESTART_SRC3" of="$MNT/d/inflight.bin" bs=128k oflag=direct status=none 2>"$TMPDIR/inflight.err"
	echo $? >"$TMPDIR/inflight.rc") &
step restart_kill s_restart_kill
step after_kill s_after_kill
step restart_term s_restart_term
step after_term s_after_term
dmesg | grep -E '(nfs|NFS|RPC|rpc|sunrpc)[: ]' | grep -v -e Registered -e nfskc | sed 's/^/info(dmesg): /'
finish
