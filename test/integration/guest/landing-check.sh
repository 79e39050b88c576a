#!/bin/bash
# Landing, part 2: a session started after the landing sees the landed files.
. "$GUEST_LIB"

s_sees() {
	eq "$(cat README.md)" "edited in the mount"
	eq "$(cat src/feature/new.txt | tr '\n' ' ')" "line 1 line 2 "
	[ ! -e src/old.txt ]
	eq "$(cat src/keep.txt | tr '\n' ' ')" "keep appended "
	eq "$(cat untouched.txt)" "untouched"
}

step sees s_sees
finish
