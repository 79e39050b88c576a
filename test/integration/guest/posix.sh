#!/bin/bash
# Everyday POSIX operations through the kernel NFSv3 client, one step per feature.
# Each step works in its own directory; a failed step does not stop the others.
. "$GUEST_LIB"

s_project_files() {
	# the session starts with the project's files (test/integration/posix.test.ts)
	eq "$(cat README.md)" "# posix"
	eq "$(cat docs/guide.txt)" "guide"
	eq "$(stat -c %a tools/run.sh)" 755
	eq "$(tools/run.sh)" run
	eq "$(readlink link.md)" README.md
	eq "$(ls -A | sort | tr '\n' ' ')" "README.md docs link.md tools "
}

s_create_write_read() {
	mkdir cwr && cd cwr
	printf 'hello world\n' >a.txt
	eq "$(cat a.txt)" "hello world"
	eq "$(stat -c %s a.txt)" 12 size
	: >empty
	eq "$(stat -c %s empty)" 0 "empty size"
	# overwrite with shorter content (open O_TRUNC)
	printf 'bye\n' >a.txt
	eq "$(cat a.txt)" bye
	# write at an offset without truncating
	printf 'XY' | dd of=a.txt bs=1 seek=2 conv=notrunc status=none
	eq "$(cat a.txt)" byXY
	drop_caches
	eq "$(cat a.txt)" byXY "after drop_caches"
	eq "$(stat -c %s a.txt)" 4 "size after drop_caches"
	# names with spaces and UTF-8
	echo s >"with space.txt"
	echo u >"ünïcødé-名前.txt"
	drop_caches
	eq "$(cat "with space.txt")" s
	eq "$(cat "ünïcødé-名前.txt")" u
	eq "$(ls | sort | tr '\n' '|')" "a.txt|empty|with space.txt|ünïcødé-名前.txt|"
}

s_append() {
	mkdir app && cd app
	printf 'one\n' >f
	printf 'two\n' >>f
	printf 'three\n' >>f
	eq "$(cat f)" "$(printf 'one\ntwo\nthree')"
	eq "$(stat -c %s f)" 14
	drop_caches
	printf 'four\n' >>f
	drop_caches
	eq "$(tail -n 1 f)" four
	eq "$(stat -c %s f)" 19
	# O_APPEND writes from two file descriptors both land at the end
	exec 4>>f 5>>f
	printf 'A\n' >&4
	printf 'B\n' >&5
	exec 4>&- 5>&-
	drop_caches
	eq "$(tail -n 2 f | tr '\n' ' ')" "A B "
}

s_truncate() {
	mkdir trunc && cd trunc
	printf '0123456789' >f
	truncate -s 4 f
	eq "$(cat f)" 0123
	eq "$(stat -c %s f)" 4
	# extend: the new range reads as zeros
	truncate -s 100000 f
	eq "$(stat -c %s f)" 100000
	drop_caches
	eq "$(head -c 4 f)" 0123
	eq "$(tail -c +5 f | tr -d '\0' | wc -c)" 0 "extended range is zeros"
	# write past the end leaves a zero gap
	printf 'Z' | dd of=f bs=1 seek=200000 conv=notrunc status=none
	drop_caches
	eq "$(stat -c %s f)" 200001
	eq "$(tail -c 1 f)" Z
	eq "$(head -c 200000 f | tail -c +5 | tr -d '\0' | wc -c)" 0 "gap is zeros"
	truncate -s 0 f
	drop_caches
	eq "$(stat -c %s f)" 0
	# a large file cut to a few bytes, then to nothing (O_TRUNC): the server replaces its data file and frees
	# the old one off its event loop (DataFiles.replace); the kept bytes and the writes after are what is read
	head -c 4194304 /dev/zero | tr '\0' 'x' >big
	printf 'KEEP' | dd of=big bs=1 conv=notrunc status=none
	truncate -s 1000 big
	drop_caches
	eq "$(stat -c %s big)" 1000
	eq "$(head -c 4 big)" KEEP
	eq "$(tail -c +5 big | tr -d x | wc -c)" 0 "kept bytes"
	: >big
	printf 'after' >>big
	drop_caches
	eq "$(cat big)" after
}

s_mkdir_rmdir() {
	mkdir md && cd md
	mkdir a
	mkdir -p a/b/c/d
	[ -d a/b/c/d ]
	eq "$(stat -c %F a/b)" directory
	fails_with "File exists" mkdir a
	rmdir a/b/c/d
	[ ! -e a/b/c/d ]
	echo x >a/b/file
	fails_with "not empty" rmdir a/b
	fails_with "Not a directory" rmdir a/b/file
	rm a/b/file
	rmdir a/b/c a/b a
	eq "$(ls -A | wc -l)" 0
	fails_with "No such file" rmdir a
	drop_caches
	eq "$(ls -A | wc -l)" 0 "after drop_caches"
	# link count of a directory: 2 + subdirectories
	mkdir p p/s1 p/s2
	drop_caches
	eq "$(stat -c %h p)" 4 "nlink of dir with 2 subdirs"
}

s_rename_same_dir() {
	mkdir rn1 && cd rn1
	echo one >a
	ino=$(stat -c %i a)
	mv a b
	[ ! -e a ]
	eq "$(cat b)" one
	eq "$(stat -c %i b)" "$ino" "inode kept by rename"
	drop_caches
	[ ! -e a ]
	eq "$(cat b)" one
	eq "$(ls)" b
	# directory rename keeps contents
	mkdir d
	echo in >d/f
	mv d d2
	drop_caches
	eq "$(cat d2/f)" in
	[ ! -e d ]
}

s_rename_across_dirs() {
	mkdir rn2 rn2/x rn2/y && cd rn2
	echo payload >x/f
	mv x/f y/g
	drop_caches
	[ ! -e x/f ]
	eq "$(cat y/g)" payload
	eq "$(ls x | wc -l)" 0
	# a directory with contents moved under another directory
	mkdir -p x/sub/deep
	echo d >x/sub/deep/file
	mv x/sub y/
	drop_caches
	eq "$(cat y/sub/deep/file)" d
	[ ! -e x/sub ]
	eq "$(stat -c %h x)" 2 "source dir nlink"
	eq "$(stat -c %h y)" 3 "target dir nlink"
	# '..' of the moved directory is the new parent
	eq "$(stat -c %i y/sub/..)" "$(stat -c %i y)"
	# a directory cannot move into itself
	fails_with "Invalid argument" perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' y y/sub/deep/y
}

s_rename_over_existing() {
	mkdir rn3 && cd rn3
	echo new >src
	echo old-and-longer >dst
	ino=$(stat -c %i src)
	mv -f src dst
	drop_caches
	[ ! -e src ]
	eq "$(cat dst)" new
	eq "$(stat -c %i dst)" "$ino" "target is the renamed inode"
	eq "$(ls | tr '\n' ' ')" "dst "
	# over an existing empty directory (rename(2) allows dir over empty dir)
	mkdir da db
	echo k >da/keep
	mv -T da db
	drop_caches
	[ ! -e da ]
	eq "$(cat db/keep)" k
	# but not over a non-empty one
	mkdir dc
	echo z >dc/z
	fails_with "" mv -T db dc
	eq "$(cat dc/z)" z
}

s_hardlink() {
	mkdir hl && cd hl
	echo first >h1
	ln h1 h2
	eq "$(stat -c %h h1)" 2 "nlink h1"
	eq "$(stat -c %h h2)" 2 "nlink h2"
	eq "$(stat -c %i h1)" "$(stat -c %i h2)" "same inode"
	echo second >>h2
	drop_caches
	eq "$(cat h1)" "$(printf 'first\nsecond')" "write via one name, read via the other"
	eq "$(stat -c %h h1)" 2 "nlink after drop_caches"
	mkdir sub
	ln h1 sub/h3
	drop_caches
	eq "$(stat -c %h h2)" 3
	rm h1
	drop_caches
	eq "$(stat -c %h h2)" 2 "nlink after unlink"
	eq "$(cat sub/h3)" "$(printf 'first\nsecond')"
	fails_with "File exists" ln h2 sub/h3
	fails_with "" ln sub sub2 # no hard links to directories
}

s_symlink() {
	mkdir sl && cd sl
	echo target-data >target.txt
	ln -s target.txt link
	ln -s ../nowhere/at/all dangling
	mkdir dir && echo inner >dir/f
	ln -s dir dirlink
	drop_caches
	eq "$(readlink link)" target.txt
	eq "$(readlink dangling)" ../nowhere/at/all
	eq "$(stat -c %F link)" "symbolic link"
	eq "$(stat -c %s link)" 10 "symlink size = target length"
	eq "$(cat link)" target-data
	eq "$(cat dirlink/f)" inner
	[ -L dangling ]
	[ ! -e dangling ]
	fails_with "File exists" ln -s x link
	# long target
	long=$(printf 'p%.0s' $(seq 1 900))
	ln -s "$long" longlink
	drop_caches
	eq "$(readlink longlink)" "$long"
	rm link
	[ -e target.txt ]
}

s_chmod() {
	mkdir cm && cd cm
	echo x >f
	chmod 640 f
	eq "$(stat -c %a f)" 640
	chmod 755 f
	drop_caches
	eq "$(stat -c %a f)" 755 "after drop_caches"
	chmod u-w,g+w f
	eq "$(stat -c %a f)" 575
	chmod 4711 f
	drop_caches
	eq "$(stat -c %a f)" 4711 "setuid bit"
	mkdir d
	chmod 700 d
	drop_caches
	eq "$(stat -c %a d)" 700
	eq "$(stat -c %F d)" directory
	# a new file gets the mode of open(2) minus the umask
	umask 027
	: >g
	eq "$(stat -c %a g)" 640
}

s_utimes() {
	mkdir ut && cd ut
	echo x >f
	touch -d '2001-02-03 04:05:06 UTC' f
	eq "$(stat -c %Y f)" 981173106 mtime
	eq "$(stat -c %X f)" 981173106 atime
	touch -m -d '2010-01-01 00:00:00 UTC' f
	touch -a -d '2012-06-30 12:00:00 UTC' f
	drop_caches
	eq "$(stat -c %Y f)" 1262304000 "mtime after drop_caches"
	eq "$(stat -c %X f)" 1341057600 "atime after drop_caches"
	# sub-second precision survives
	touch -m -d '2020-05-05 05:05:05.123456789 UTC' f
	drop_caches
	eq "$(stat -c %y f)" "2020-05-05 05:05:05.123456789 +0000"
	# a write moves mtime to now
	before=$(date +%s)
	sleep 1
	echo more >>f
	drop_caches
	[ "$(stat -c %Y f)" -ge "$before" ] || { echo "mtime not updated by write: $(stat -c %Y f) < $before" >&2; exit 1; }
	# directory mtime changes when an entry is added
	touch -d '2001-01-01 UTC' .
	: >newentry
	drop_caches
	[ "$(stat -c %Y .)" -gt 978307200 ] || { echo "dir mtime not updated by create" >&2; exit 1; }
}

excl() { perl -MFcntl -e 'sysopen(my $f, $ARGV[0], O_CREAT|O_EXCL|O_WRONLY, 0644) or do { print STDERR ($!{EEXIST} ? "EEXIST" : "errno: $!"), "\n"; exit 3 }; print $f "created\n"; close $f or die' "$1"; }

s_o_excl() {
	mkdir ex && cd ex
	# exclusive create of a new name works and yields a normal file
	excl new.txt
	eq "$(cat new.txt)" created
	eq "$(stat -c %a new.txt)" 644 "mode after exclusive create"
	# ... and fails with EEXIST once it exists
	fails_with EEXIST excl new.txt
	echo original >existing
	fails_with EEXIST excl existing
	eq "$(cat existing)" original
	# noclobber redirection
	fails_with "" bash -c 'set -C; echo x > existing'
	eq "$(cat existing)" original
	# exclusive create after a drop_caches (no cached dentry: the server must refuse)
	drop_caches
	fails_with EEXIST excl existing
	# many exclusive creates in a row: each name exactly once
	for i in 1 2 3 4 5; do excl "lock.$i"; done
	for i in 1 2 3 4 5; do fails_with EEXIST excl "lock.$i"; done
}

s_vim_save() {
	mkdir vim && cd vim
	printf 'line1\nline2\n' >doc.txt
	chmod 640 doc.txt
	old_ino=$(stat -c %i doc.txt)
	exec 3<doc.txt # another process still has the old file open
	# vim: write the new text to a swap/backup file, fsync it, rename it over the original
	printf 'line1\nline2 edited\nline3\n' >.doc.txt.swp
	chmod 640 .doc.txt.swp
	sync .doc.txt.swp
	mv -f .doc.txt.swp doc.txt
	eq "$(cat doc.txt)" "$(printf 'line1\nline2 edited\nline3')"
	[ ! -e .doc.txt.swp ]
	[ "$(stat -c %i doc.txt)" != "$old_ino" ]
	eq "$(stat -c %a doc.txt)" 640
	# the old open file still reads the old text
	eq "$(cat <&3)" "$(printf 'line1\nline2')" "old content via open fd"
	exec 3<&-
	# once closed, the client's silly-renamed .nfsXXXX leftover goes away
	for i in $(seq 50); do [ "$(ls -A | grep -c '^\.nfs')" = 0 ] && break; sleep 0.1; done
	eq "$(ls -A | tr '\n' ' ')" "doc.txt " "directory contents after save"
	drop_caches
	eq "$(cat doc.txt)" "$(printf 'line1\nline2 edited\nline3')" "after drop_caches"
}

s_vscode_save() {
	mkdir code && cd code
	head -c 5000 /dev/zero | tr '\0' 'a' >src.ts
	ino=$(stat -c %i src.ts)
	# VS Code / fs.writeFile: open(O_WRONLY|O_TRUNC) -> size 0, then write the new text
	perl -e 'open(my $f, "+<", $ARGV[0]) or die; truncate($f, 0) or die; my @s = stat($ARGV[0]); die "size $s[7] after truncate\n" if $s[7] != 0; seek($f, 0, 0); print $f "export const x = 1;\n"; close $f or die' src.ts
	eq "$(cat src.ts)" "export const x = 1;"
	eq "$(stat -c %s src.ts)" 20
	eq "$(stat -c %i src.ts)" "$ino" "same inode"
	drop_caches
	eq "$(cat src.ts)" "export const x = 1;" "no stale tail after drop_caches"
	# O_TRUNC via shell redirection, longer content
	seq 1 2000 >src.ts
	drop_caches
	eq "$(wc -l <src.ts)" 2000
	eq "$(tail -n 1 src.ts)" 2000
}

s_unlink_open_file() {
	mkdir uo && cd uo
	echo still-readable >f
	exec 3<f
	rm f
	[ ! -e f ]
	eq "$(cat <&3)" still-readable
	exec 3<&-
	for i in $(seq 50); do [ "$(ls -A | wc -l)" = 0 ] && break; sleep 0.1; done
	eq "$(ls -A | wc -l)" 0 "no .nfs leftover"
}

s_readdir_and_stat() {
	mkdir rd && cd rd
	quietly mkfiles file- 1 300
	mkdir sub
	ln -s file-1 sym
	drop_caches
	eq "$(ls | wc -l)" 302
	eq "$(ls -A | sort | uniq -d | wc -l)" 0 "duplicate entries"
	eq "$(find . -mindepth 1 -type f | wc -l)" 300
	eq "$(find . -mindepth 1 -type l | wc -l)" 1
	eq "$(find . -mindepth 1 -type d | wc -l)" 1
	# ls -l (READDIRPLUS attributes) agrees with stat
	eq "$(ls -ln file-7 | awk '{print $2, $5}')" "1 0"
	df -P . >/dev/null
	stat -f . >/dev/null
}

s_random_io() {
	# model-based random I/O (fsx-like): the same random writes / truncates / reads on a
	# file on the mount and on a reference file on the guest tmpfs; every read compared
	mkdir rio && cd rio
	perl -e '
		use strict; use Fcntl qw(O_RDWR O_CREAT SEEK_SET);
		srand(12345);
		my ($nfs, $ref) = @ARGV;
		sysopen(my $n, $nfs, O_RDWR|O_CREAT, 0644) or die "open $nfs: $!";
		sysopen(my $r, $ref, O_RDWR|O_CREAT, 0644) or die "open $ref: $!";
		my $max = 2 * 1024 * 1024; my $size = 0;
		for my $i (1 .. 3000) {
			my $op = rand();
			if ($op < 0.45) {
				my $off = int(rand($max)); my $len = 1 + int(rand(70000));
				my $buf = join("", map { chr(int(rand(256))) } 1 .. 64) x (int($len / 64) + 1);
				$buf = substr($buf, 0, $len);
				for my $f ($n, $r) { sysseek($f, $off, SEEK_SET) or die; syswrite($f, $buf) == $len or die "write: $!" }
				$size = $off + $len if $off + $len > $size;
			} elsif ($op < 0.55) {
				my $t = int(rand($max));
				truncate($n, $t) or die "truncate nfs: $!"; truncate($r, $t) or die;
				$size = $t;
			} else {
				my $off = int(rand($size + 1000)); my $len = 1 + int(rand(100000));
				my ($a, $b) = ("", "");
				sysseek($n, $off, SEEK_SET); sysread($n, $a, $len);
				sysseek($r, $off, SEEK_SET); sysread($r, $b, $len);
				die "op $i: read mismatch at $off len $len (got " . length($a) . " bytes, want " . length($b) . ")\n" if $a ne $b;
			}
			die "op $i: size " . (-s $nfs) . " want $size\n" if $i % 100 == 0 && -s $nfs != $size;
		}
		close $n or die; close $r or die;
	' data.bin "$TMPDIR/rio.ref"
	drop_caches
	cmp data.bin "$TMPDIR/rio.ref"
	eq "$(stat -c %s data.bin)" "$(stat -c %s "$TMPDIR/rio.ref")" "final size"
}

s_compile_and_exec() {
	# a C program compiled on the mount and executed from it (pages mapped over NFS)
	mkdir cc && cd cc
	printf '#include <stdio.h>\nint main(void) { puts("hello from nfs"); return 7; }\n' >hello.c
	gcc -O1 -o hello hello.c
	drop_caches
	rc=0
	out=$(./hello) || rc=$?
	eq "$out" "hello from nfs"
	eq "$rc" 7 "exit status"
	eq "$(stat -c %a hello)" 755 "mode of the linker output"
}

s_tar_roundtrip() {
	# tar extracts with modes, mtimes, symlinks, hard links; a second tar of the result
	# must list the same
	mkdir -p "$TMPDIR/t/src/a/b"
	cd "$TMPDIR/t/src"
	seq 1 5000 >a/b/nums.txt
	printf 'x' >a/tiny
	ln a/tiny a/tiny.hard
	ln -s b/nums.txt a/nums.link
	chmod 751 a/b
	chmod 600 a/tiny
	touch -h -d '2003-03-03 03:03:03 UTC' a/nums.link a/b/nums.txt a/tiny
	tar --numeric-owner -cf "$TMPDIR/t/in.tar" a
	cd "$MNT"
	mkdir tarx
	tar --numeric-owner -xpf "$TMPDIR/t/in.tar" -C tarx
	drop_caches
	cd tarx
	tar --numeric-owner -cf "$TMPDIR/t/out.tar" a
	eq "$(tar -tvf "$TMPDIR/t/out.tar" | sort)" "$(tar -tvf "$TMPDIR/t/in.tar" | sort)" "tar listing"
	eq "$(stat -c %h a/tiny)" 2
	cmp a/b/nums.txt "$TMPDIR/t/src/a/b/nums.txt"
	# cp -a keeps the same attributes
	cp -a a ../cpa
	drop_caches
	eq "$(stat -c '%a %Y' ../cpa/tiny)" "600 1046660583"
	eq "$(readlink ../cpa/nums.link)" b/nums.txt
}

step project_files s_project_files
step create_write_read s_create_write_read
step append s_append
step truncate s_truncate
step mkdir_rmdir s_mkdir_rmdir
step rename_same_dir s_rename_same_dir
step rename_across_dirs s_rename_across_dirs
step rename_over_existing s_rename_over_existing
step hardlink s_hardlink
step symlink s_symlink
step chmod s_chmod
step utimes s_utimes
step o_excl s_o_excl
step vim_save s_vim_save
step vscode_save s_vscode_save
step unlink_open_file s_unlink_open_file
step readdir_and_stat s_readdir_and_stat
step random_io s_random_io
step compile_and_exec s_compile_and_exec
step tar_roundtrip s_tar_roundtrip
finish
