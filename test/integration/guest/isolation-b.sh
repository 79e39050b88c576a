#!/bin/bash
# Session B, started from the same head before A changed anything: sees none of A's
# changes; its own change stays in B.
. "$GUEST_LIB"

s_unchanged() {
	eq "$(cat README.md)" "original readme"
	eq "$(cat del.txt)" "delete me"
	[ ! -e new-in-a.txt ]
	[ ! -e adir ]
	eq "$(cat src/a.txt)" "A"
	[ ! -e src/a-renamed.txt ]
	eq "$(stat -c %a src/b.txt)" 644
	eq "$(ls | tr '\n' ' ')" "README.md del.txt src "
}

s_change_b() {
	echo "changed in B" >README.md
	echo "new in B" >new-in-b.txt
	sync
}

step unchanged s_unchanged
step change_b s_change_b
finish
