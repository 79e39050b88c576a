#!/bin/bash
# The session is rebased (host hook `rebase`: another session lands, then this one is rebased onto the new
# head) while a writer writes and fsyncs files in a loop (dd conv=fsync). The export gets a new fsid: the
# kernel sees ESTALE from then on (docs/api.md, "Landing and rebase"), and the mount must be made again.
# Every file whose fsync returned is there afterwards, with its content, and so is the other session's file.
# The script ends without UMNT (kernel mount mode: `umount -i` sends none): the daemon takes the client for
# gone once its connections close (--mount-gone).
. "$GUEST_LIB"
LOG=$TMPDIR/fsynced
: >"$LOG"

# content of file N: "file N" lines up to 8 KiB (two WRITEs and a COMMIT on the wire)
body() { yes "file $1" | head -c 8192; }

writer() {
	local i=0
	while [ ! -e "$TMPDIR/stop" ]; do
		i=$((i + 1))
		if ! body $i | dd of="$MNT/w$i.txt" bs=8192 conv=fsync status=none 2>"$TMPDIR/writer.err"; then
			echo "$i" >"$TMPDIR/failed"
			return 0
		fi
		echo "w$i.txt" >>"$LOG"
	done
}

writes_through_the_rebase() {
	quietly writer &
	local pid=$! n=0
	while [ "$(wc -l <"$LOG")" -lt 10 ] && [ ! -e "$TMPDIR/failed" ]; do sleep 0.05; done
	host_hook rebase 60
	# the rebase is done: the writer's next call gets ESTALE (it must not be anything else)
	while [ ! -e "$TMPDIR/failed" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
	touch "$TMPDIR/stop"
	wait $pid
	test -e "$TMPDIR/failed"
	cat "$TMPDIR/writer.err"
	grep -q 'Stale file handle' "$TMPDIR/writer.err"
	echo "info: $(wc -l <"$LOG") files fsynced, the write of w$(cat "$TMPDIR/failed").txt got ESTALE"
	# the old mount is stale: a new one sees the rebased session
	cd /
	umount -i -l "$MNT"
	mount -i -t nfs -o "$NFS_MOUNT_OPTS,addr=$NFS_SERVER" "$NFS_SOURCE" "$MNT"
}

every_fsynced_file_is_there() {
	local f n
	quietly test -s "$LOG"
	while read -r f; do
		n=${f#w}
		n=${n%.txt}
		body "$n" | quietly cmp "$f" -
	done <"$LOG"
	eq "$(cat landed-elsewhere.txt)" "landed by the other session"
	eq "$(cat README.md)" "readme"
	cp "$LOG" "$OUT/fsynced"
}

step rebase writes_through_the_rebase
step after every_fsynced_file_is_there
finish
