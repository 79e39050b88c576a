#!/bin/bash
# import-git, through the kernel client: a session started from an imported head shows the commit's
# files (content, executable bit, symlink, subdirectories); then edit it (the host lands and exports).
. "$GUEST_LIB"

s_sees() {
	eq "$(cat README.md)" "# demo"
	test -x run.sh
	eq "$(readlink link)" "README.md"
	eq "$(cat src/lib.c)" "int lib;"
	eq "$(ls docs)" "guide.txt"
	test ! -e .git
}

s_edit() {
	echo "edited in the mount" >README.md
	mkdir -p notes
	echo "from the kernel" >notes/kernel.txt
	rm docs/guide.txt
	sync
}

step sees s_sees
step edit s_edit
finish
