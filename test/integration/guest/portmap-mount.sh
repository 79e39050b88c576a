#!/bin/sh
# Guest side of ops.test.ts: the daemon runs with --portmap in the guest's network namespace.
# Env: SID (session id), CLI (mic's main.js), OUT (host dir, writable), TOKEN (API bearer token),
# WAIT_FOR (optional: a file in OUT to wait for, until it says "healthy").
# Mounts with no port options (mount.nfs asks the portmapper), scrapes /metrics while mounted,
# then mounts again with `mic mount` and unmounts with `mic umount`.
set -eu
S=$NFS_SERVER
A=$TMPDIR/a
B=$TMPDIR/b
mkdir -p "$A"
scrape() { curl -sS -f -H "Authorization: Bearer $TOKEN" "http://$S:2050/metrics" >"$OUT/$1.txt"; }

echo "== rpcinfo"
rpcinfo -p "$S"
echo "== plain mount"
mount -t nfs -o vers=3,nolock "$S:/exports/sessions/$SID" "$A"
grep " $A nfs" /proc/mounts
scrape before
dd if=/dev/urandom of="$A/big.bin" bs=64k count=16 2>/dev/null
sync
test "$(stat -c %s "$A/big.bin")" = 1048576
sum=$(md5sum <"$A/big.bin")
echo 3 >/proc/sys/vm/drop_caches
cat "$A/README.md" >/dev/null
test "$(md5sum <"$A/big.bin")" = "$sum" # read back from the server after drop_caches
ls "$A/no-such-file" 2>/dev/null || true
scrape during
umount "$A"

echo "== mic mount"
node "$CLI" mount "$SID" "$B" --host "$S" >"$OUT/mic-mount.out" 2>&1 || { cat "$OUT/mic-mount.out"; exit 1; }
cat "$OUT/mic-mount.out"
grep " $B nfs" /proc/mounts >"$OUT/mounts.txt"
test "$(cat "$B/README.md")" = "hello from the project"
test "$(stat -c %s "$B/big.bin")" = 1048576
node "$CLI" umount "$B" >"$OUT/mic-umount.out" 2>&1 || { cat "$OUT/mic-umount.out"; exit 1; }
cat "$OUT/mic-umount.out"
if grep -q " $B nfs" /proc/mounts; then echo "still mounted"; exit 1; fi
# scripts/image-test.sh: the host side checks the container while the guest is up; wait for them
if [ -n "${WAIT_FOR:-}" ]; then
	i=0
	until grep -q healthy "$OUT/$WAIT_FOR" 2>/dev/null || [ $i -ge 240 ]; do sleep 0.5; i=$((i + 1)); done
fi
echo ALL-OK
