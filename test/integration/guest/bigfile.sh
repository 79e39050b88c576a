#!/bin/bash
# A 200 MB file of random bytes, generated on the host (BIG_SRC, SHA-256 BIG_SHA):
# copied onto the mount, read back from the server after dropping the guest's
# caches and compared by SHA-256; then 1 MiB in the middle is overwritten
# (BIG_PATCH at BIG_PATCH_MB MiB; expected SHA-256 afterwards BIG_PATCHED_SHA).
. "$GUEST_LIB"
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
SIZE=$(stat -c %s "$BIG_SRC")

s_write() {
	t0=$(date +%s.%N)
	dd if="$BIG_SRC" of=big.bin bs=1M status=none
	sync big.bin
	echo "info: wrote $SIZE bytes in $(secs "$t0")s"
	eq "$(stat -c %s big.bin)" "$SIZE" size
}

s_read() {
	drop_caches
	eq "$(stat -c %s big.bin)" "$SIZE" "size from the server"
	t0=$(date +%s.%N)
	got=$(sha big.bin)
	echo "info: read+sha256 in $(secs "$t0")s"
	eq "$got" "$BIG_SHA" "sha256 of the data read back"
}

s_overwrite_middle() {
	dd if="$BIG_PATCH" of=big.bin bs=1M seek="$BIG_PATCH_MB" conv=notrunc,fsync status=none
	drop_caches
	eq "$(stat -c %s big.bin)" "$SIZE" "size unchanged"
	eq "$(sha big.bin)" "$BIG_PATCHED_SHA" "sha256 after overwriting 1 MiB at $BIG_PATCH_MB MiB"
}

step write s_write
step read s_read
step overwrite_middle s_overwrite_middle
finish
