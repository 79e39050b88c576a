#!/bin/bash
# S3 outage: a continuous write/read workload while the host stops radosgw for OUTAGE_S seconds and then
# starts it again. Cached project files must stay readable throughout; an uncached file may fail or wait
# during the outage (result written to $OUT/uncached-during) but never return wrong bytes, and must read
# correctly afterwards. At the end the acknowledged state of w/ is written to $OUT/manifest.
# Env: HOST_HOOK (hooks gw-stop, gw-start), OUT (host dir, rw), OUTAGE_S, SHA_A, SHA_B, SHA_U.
. "$GUEST_LIB"

cached_ok() {
	eq "$(sha cached/a.bin)" "$SHA_A" "cached/a.bin"
	eq "$(sha cached/b.bin)" "$SHA_B" "cached/b.bin"
	eq "$(cat README.md)" "outage test" "README.md"
}

# one round of work: new file, append, overwrite, delete, copy into a subdirectory, commit, read back
round() {
	local i=$1 d=w/d$(($1 % 3))
	head -c $(((i * 7919) % 150000 + 1)) /dev/urandom >w/f$i.bin
	echo "round $i" >>w/log.txt
	if [ $((i % 4)) = 3 ]; then head -c 5000 /dev/urandom >w/f$((i - 2)).bin; fi
	if [ $((i % 5)) = 4 ]; then rm -f w/f$((i - 3)).bin; fi
	mkdir -p "$d"
	cp w/f$i.bin "$d/c$i.bin"
	local want
	want=$(sha w/f$i.bin)
	sync
	drop_caches
	eq "$(sha "$d/c$i.bin")" "$want" "copy of round $i"
	cached_ok
}

s_before() {
	cached_ok # fills the server's caches
	mkdir w
	for i in 1 2 3; do round $i; done
}

s_outage() {
	host_hook gw-stop 60
	local t0 i=4
	t0=$(date +%s)
	# an uncached file, in the background: may fail or wait, never wrong bytes
	(
		r=$(timeout -k 5 45 sha256sum uncached/u.bin 2>&1) && echo "ok ${r%% *}" >"$OUT/uncached-during" \
			|| echo "err $? $r" >"$OUT/uncached-during"
	) &
	while [ $(($(date +%s) - t0)) -le "$OUTAGE_S" ]; do
		round $i
		i=$((i + 1))
	done
	echo "info: $((i - 4)) rounds during the outage"
	echo $i >"$TMPDIR/next"
	wait
	host_hook gw-start 120
}

s_after() {
	local i n
	n=$(cat "$TMPDIR/next")
	for i in $(seq "$n" $((n + 3))); do round "$i"; done
	eq "$(sha uncached/u.bin)" "$SHA_U" "uncached/u.bin after the outage"
	sync
	find w -type f | sort | xargs sha256sum >"$OUT/manifest"
}

step before s_before
step outage s_outage
step after s_after
finish
