#!/bin/bash
# The session is rebased (host hook `rebase`: another session lands, then this one is rebased onto the new
# head) while a writer writes and fsyncs files in a loop (dd conv=fsync), with its cwd in the mount. The
# export keeps its fsid (docs/api.md, "Landing and rebase"): the mount, the cwds, new opens and the open
# descriptors go on without a remount, and no write fails (the file the writer has open when the rebase comes
# is one the session made: its handle still names it, renumbered.ts). Afterwards: the other session's file is
# in the listing, its change to a base file reads through the open cwd, a base file held open through the
# rebase still reads, a file the session made held open reads and is written through its descriptors, though
# the other session's file has taken its inode number (the write lands in the session's file, not that one),
# and every file whose fsync returned has its content.
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
	# a file the session made (the first: its number is the one the other session's landed file gets), held
	# open for reading and for writing through the rebase
	echo mine >mine.txt
	exec 4<mine.txt
	exec 5>>mine.txt
	local ino_mine
	ino_mine=$(stat -c %i mine.txt)
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
	# no write failed, not even the one through the descriptor open when the rebase came
	if [ -s "$ERR" ]; then
		echo "a write failed through the rebase" >&2
		false
	fi
	echo "info: $(wc -l <"$LOG") files fsynced, $before before the rebase ended; write errors: $(wc -l <"$ERR")"
	drop_caches
	eq "$(cat <&3)" "readme" "README.md held open"
	exec 3<&-
	# the other session's landed file has mine.txt's old number now; the descriptors still reach mine.txt
	eq "$(stat -c %i landed-elsewhere.txt)" "$ino_mine" "the other session's file took mine.txt's number"
	eq "$(stat -L -c %i /proc/self/fd/4)" "$ino_mine" "mine.txt held open keeps its inode number"
	eq "$(cat <&4)" "mine" "mine.txt held open"
	exec 4<&-
	echo more >&5
	exec 5>&-
	drop_caches
	eq "$(cat mine.txt)" "$(printf 'mine\nmore')"
	eq "$(cat landed-elsewhere.txt)" "landed by the other session"
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
