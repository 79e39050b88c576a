#!/bin/bash
# 20,000 files in one directory: create, list (count), list again from the server
# (after drop_caches, so READDIRPLUS cookies are exercised), stat, remove.
. "$GUEST_LIB"
N=${MANY_FILES:-20000}

s_create() {
	mkdir many
	t0=$(date +%s)
	quietly mkfiles many/f 1 "$N"
	echo "info: created $N files in $(($(date +%s) - t0))s"
}

s_list() {
	cd many
	eq "$(ls -f | grep -vcx '\.\|\.\.')" "$N" "ls -f count"
	drop_caches
	t0=$(date +%s)
	eq "$(ls | wc -l)" "$N" "ls count after drop_caches"
	echo "info: listed in $(($(date +%s) - t0))s"
	eq "$(ls | sort | uniq -d | wc -l)" 0 "duplicate names"
	eq "$(ls | sort -u | head -n 1)" f1
	eq "$(ls -U | sort -t f -k 2 -n | tail -n 1)" "f$N"
	drop_caches
	eq "$(find . -type f | wc -l)" "$N" "find count"
	# names are exactly f1..fN
	eq "$(ls | sed 's/^f//' | sort -n | awk -v n="$N" '$1 != NR {bad++} END {print bad + 0, NR}')" "0 $N" "names f1..fN"
	[ -f "f$((N / 2))" ]
	[ ! -e "f$((N + 1))" ]
	eq "$(stat -c %s "f$N")" 0
}

s_remove() {
	t0=$(date +%s)
	rm -rf many
	echo "info: removed in $(($(date +%s) - t0))s"
	[ ! -e many ]
	drop_caches
	eq "$(ls -A | grep -cx many)" 0 "many/ gone from the listing after rm -rf"
}

step create s_create
step list s_list
step remove s_remove
finish
