#!/bin/bash
# The session is rebased (host hook `rebase`: another session lands, then this one is rebased onto the new
# head) while a writer writes and fsyncs files in a loop (dd conv=fsync), with its cwd in the mount. The
# export keeps its fsid (docs/api.md, "Landing and rebase"): the mount, the cwds and new opens go on without
# a remount. The one error allowed is ESTALE on the file the writer had open when the rebase came (a file the
# session made: its handle is STALE afterwards); the writer writes that file again. Afterwards: the other
# session's file is in the listing, its change to a base file reads through the open cwd, a base file held
# open through the rebase still reads, a file the session made held open reads ESTALE (by name it reads), and
# every file whose fsync returned has its content.
# The script ends without UMNT (kernel mount mode: `umount -i` sends none): the daemon takes the client for
# gone once its connections close (--mount-gone).
. "$GUEST_LIB"
LOG=$TMPDIR/fsynced
ERR=$TMPDIR/write-errors
: >"$LOG"
: >"$ERR"

# content of file N: "file N" lines up to 8 KiB (two WRITEs and a COMMIT on the wire)
body() { yes "file $1" | head -c 8192; }

# writes w1.txt, w2.txt, ... by relative path (cwd: the mount's root); a failed write is logged and done again
writer() {
	local i=1 tries=0
	while [ ! -e "$TMPDIR/stop" ]; do
		if body $i | dd of="w$i.txt" bs=8192 conv=fsync status=none 2>"$TMPDIR/writer.err"; then
			echo "w$i.txt" >>"$LOG"
			i=$((i + 1))
			tries=0
		else
			echo "w$i.txt: $(cat "$TMPDIR/writer.err")" >>"$ERR"
			tries=$((tries + 1))
			[ $tries -lt 5 ] || return 1
			sleep 0.2
		fi
	done
}

writes_through_the_rebase() {
	# a base file held open through the rebase, and a reader whose cwd is a base directory
	exec 3<README.md
	# a file the session made, held open: its handle is STALE after the rebase (documented); by name it reads
	echo mine >mine.txt
	exec 4<mine.txt
	quietly writer &
	local pid=$! n=0 before
	while [ "$(wc -l <"$LOG")" -lt 10 ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done
	# through the rebase with its cwd in docs/ (a base directory): the other session's change reads through it
	(
		cd docs
		eq "$(cat guide.md)" "guide"
		host_hook rebase 60
		eq "$(cat guide.md)" "guide v2"
	)
	before=$(wc -l <"$LOG")
	# the writer goes on: ten more files fsynced after the rebase, on the same mount
	while [ "$(wc -l <"$LOG")" -lt $((before + 10)) ] && [ $n -lt 600 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
	touch "$TMPDIR/stop"
	wait $pid
	cat "$ERR"
	test "$(wc -l <"$LOG")" -ge $((before + 10))
	# the only error: ESTALE, on the file open when the rebase came
	if grep -v 'Stale file handle' "$ERR"; then
		echo "a write failed with another error than ESTALE" >&2
		false
	fi
	echo "info: $(wc -l <"$LOG") files fsynced, $before before the rebase ended; write errors: $(wc -l <"$ERR")"
	drop_caches
	eq "$(cat <&3)" "readme" "README.md held open"
	exec 3<&-
	fails_with 'Stale file handle' cat <&4
	exec 4<&-
	eq "$(cat mine.txt)" "mine"
}

every_fsynced_file_is_there() {
	local f n
	quietly test -s "$LOG"
	drop_caches
	while read -r f; do
		n=${f#w}
		n=${n%.txt}
		body "$n" | quietly cmp "$f" -
	done <"$LOG"
	ls | grep -qx landed-elsewhere.txt
	eq "$(cat landed-elsewhere.txt)" "landed by the other session"
	eq "$(cat README.md)" "readme"
	(cd docs && eq "$(cat guide.md)" "guide v2")
	# still the first mount
	eq "$(grep -c " $MNT nfs" /proc/mounts)" 1
	cp "$LOG" "$OUT/fsynced"
	cp "$ERR" "$OUT/write-errors"
}

step rebase writes_through_the_rebase
step after every_fsynced_file_is_there
finish
