#!/bin/bash
# Landing, part 1: edit a session through the kernel client (the host then lands it).
. "$GUEST_LIB"

s_edit() {
	eq "$(cat README.md)" "original readme"
	echo "edited in the mount" >README.md
	mkdir -p src/feature
	printf 'line 1\nline 2\n' >src/feature/new.txt
	rm src/old.txt
	echo "appended" >>src/keep.txt
	sync
	drop_caches
	eq "$(cat README.md)" "edited in the mount"
}

step edit s_edit
finish
