#!/bin/bash
# Session A changes its copy (the host then checks B, a new session C and the head).
. "$GUEST_LIB"

s_change() {
	eq "$(cat README.md)" "original readme"
	echo "changed in A" >README.md
	echo "new in A" >new-in-a.txt
	rm del.txt
	mkdir -p adir/x
	echo deep >adir/x/deep.txt
	mv src/a.txt src/a-renamed.txt
	chmod 600 src/b.txt
	sync
	drop_caches
	eq "$(cat README.md)" "changed in A"
	eq "$(ls | tr '\n' ' ')" "README.md adir new-in-a.txt src "
}

step change s_change
finish
