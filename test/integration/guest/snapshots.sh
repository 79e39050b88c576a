#!/bin/bash
# Read-only snapshots through the kernel client. $MNT is /exports/projects/<org>/<name>/head mounted
# read-write, so the server alone refuses: every procedure that changes something answers NFS3ERR_ROFS
# (EROFS); opening an existing file for writing is refused by the client itself with EACCES, since ACCESS
# grants no MODIFY/EXTEND (as knfsd answers for an `ro` export). Mounted with -o ro, as a read-only
# snapshot is meant to be, every write fails with EROFS. The suspended session $SUSPENDED refuses the same way.
. "$GUEST_LIB"

RO="Read-only file system"

s_reads() {
	eq "$(cat README.md)" "landed readme"
	eq "$(cat src/lib.txt)" "lib"
	eq "$(readlink link)" "README.md"
	eq "$(ls | tr '\n' ' ')" "README.md link src "
	drop_caches
	eq "$(cat src/lib.txt)" "lib"
}

s_writes_fail() {
	fails_with "Permission denied" sh -c 'echo x > README.md'
	fails_with "Permission denied" sh -c 'echo x >> src/lib.txt'
	fails_with "$RO" touch new.txt
	fails_with "$RO" sh -c 'echo x > new.txt'
	fails_with "$RO" mkdir newdir
	fails_with "$RO" rm README.md
	fails_with "$RO" rmdir src
	fails_with "$RO" mv README.md moved.md
	fails_with "$RO" ln -s README.md l2
	fails_with "$RO" ln README.md hard
	fails_with "$RO" chmod 600 README.md
	fails_with "$RO" mkfifo fifo
	drop_caches
	eq "$(cat README.md)" "landed readme"
	eq "$(ls | tr '\n' ' ')" "README.md link src "
}

s_ro_mount() {
	mkdir -p "$TMPDIR/ro"
	mount -i -t nfs -o "$NFS_MOUNT_OPTS,ro,addr=$NFS_SERVER" "$NFS_SOURCE" "$TMPDIR/ro"
	cd "$TMPDIR/ro"
	eq "$(cat src/lib.txt)" "lib"
	fails_with "$RO" sh -c 'echo x > README.md'
	fails_with "$RO" truncate -s 0 README.md
	fails_with "$RO" touch new.txt
	cd /
	umount -i "$TMPDIR/ro"
}

s_suspended() {
	mkdir -p "$TMPDIR/susp"
	mount -i -t nfs -o "$NFS_MOUNT_OPTS,addr=$NFS_SERVER" "$NFS_SERVER:$SUSPENDED" "$TMPDIR/susp"
	cd "$TMPDIR/susp"
	eq "$(cat README.md)" "landed readme"
	fails_with "Permission denied" sh -c 'echo x > README.md'
	fails_with "$RO" touch new.txt
	fails_with "$RO" mkdir d
	fails_with "$RO" rm README.md
	cd /
	umount -i "$TMPDIR/susp"
}

step reads s_reads
step writes_fail s_writes_fail
step ro_mount s_ro_mount
step suspended s_suspended
finish
