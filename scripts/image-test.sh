#!/usr/bin/env bash
# Builds the Dockerfile with buildah and runs the image against the real Linux kernel NFS client.
# No container registry is reachable here, so the base image the Dockerfile names
# (node:20-bookworm-slim) is made locally: a Debian bookworm rootfs from debootstrap (Debian mirror),
# this machine's Node 20 (binary, npm, headers), a "node" user with uid 1000, tagged
# docker.io/library/node:20-bookworm-slim. The build then runs as written (apt-get from the Debian
# mirror, npm ci from the npm registry).
#
# Checks: the image runs as a non-root user and carries a HEALTHCHECK; the project CLI works inside it;
# the container's daemon (serve --portmap, inside the kernel client's network namespace) answers the
# portmapper, MOUNT and NFS: the kernel client mounts a session with no port options (mount.nfs),
# writes and reads, `mic mount` mounts it again; /metrics answers and parses; the healthcheck command
# passes while the daemon runs; the daemon process runs as uid 1000.
#
# Cached outside the repository: the debootstrap rootfs ($MIC_IMAGE_CACHE, default
# /var/cache/mic-fs-image) and the base image (buildah storage). Needs root.
# Usage: scripts/image-test.sh [--keep]        (exit 0 = every check passed)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
CACHE=${MIC_IMAGE_CACHE:-/var/cache/mic-fs-image}
BASE_TAG=docker.io/library/node:20-bookworm-slim
IMAGE=localhost/mic-fs:image-test
KC=${NFS_KERNEL_CLIENT:-$(dirname "$REPO")/shared/tools/nfs-kernel-client.sh}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
log() { echo "image-test: $*" >&2; }
t0=$(date +%s)
lap() { log "$1 ($(($(date +%s) - t0))s)"; }

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
need=()
command -v buildah >/dev/null || need+=(buildah fuse-overlayfs uidmap crun)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}" >/dev/null
fi

# ---- 1. Debian rootfs (debootstrap), cached
mkdir -p "$CACHE"
ROOTFS=$CACHE/rootfs-bookworm
if [ ! -d "$ROOTFS" ]; then
	log "debootstrap bookworm (minbase) into $ROOTFS"
	rm -rf "$ROOTFS.tmp"
	debootstrap --variant=minbase bookworm "$ROOTFS.tmp" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
	mv "$ROOTFS.tmp" "$ROOTFS"
fi
lap "rootfs ready"

# ---- 2. base image = node:20-bookworm-slim look-alike, rebuilt when this machine's node changes
NODE_VERSION=$(node -v)
BASE_REV="$NODE_VERSION-2"
have=$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "mic-fs.node"}}' "$BASE_TAG" 2>/dev/null || true)
if [ "$have" != "$BASE_REV" ]; then
	log "making $BASE_TAG from $ROOTFS + node $NODE_VERSION"
	ctr=$(buildah from scratch)
	mnt=$(buildah mount "$ctr")
	cp -a "$ROOTFS/." "$mnt/"
	mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/lib/node_modules" "$mnt/usr/local/include"
	cp "$(readlink -f "$(command -v node)")" "$mnt/usr/local/bin/node"
	NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
	cp -a "$NPM_DIR" "$mnt/usr/local/lib/node_modules/npm"
	ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
	ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
	[ -d /usr/include/node ] && cp -a /usr/include/node "$mnt/usr/local/include/node"
	chroot "$mnt" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node'
	# this machine's CA bundle: egress here may go through a TLS-inspecting proxy (npm ci in the build)
	mkdir -p "$mnt/etc/ssl/certs"
	cp /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
	rm -rf "$mnt/var/cache/apt/archives/"*.deb
	buildah umount "$ctr" >/dev/null
	buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="${NODE_VERSION#v}" \
		--env npm_config_nodedir=/usr/local --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
		--env npm_config_cafile=/etc/ssl/certs/ca-certificates.crt --label mic-fs.node="$BASE_REV" --cmd node "$ctr"
	buildah commit -q "$ctr" "$BASE_TAG" >/dev/null
	buildah rm "$ctr" >/dev/null
fi
lap "base image ready"

# ---- 3. build the Dockerfile as written
log "buildah bud $IMAGE"
buildah bud --format docker --pull-never --isolation chroot --network host --layers -t "$IMAGE" -f Dockerfile . >"$CACHE/build.log" 2>&1 ||
	{ tail -40 "$CACHE/build.log" >&2; log "build failed (log: $CACHE/build.log)"; exit 1; }
lap "image built"

fail() { log "FAIL: $*"; exit 1; }
cfg() { buildah inspect --type image --format "$1" "$IMAGE"; }
user=$(cfg '{{.Docker.Config.User}}')
[ "$user" = node ] || fail "image user is '$user', not node"
hc=$(cfg '{{.Docker.Config.Healthcheck}}')
[[ $hc == *doctor*--ports-only* ]] || fail "no healthcheck in the image config: $hc"
log "ok: USER $user, HEALTHCHECK $hc"

# ---- 4. a data dir with a project and a session, made by the image's own CLI as uid 1000
WORK=$(mktemp -d /tmp/mic-image-test.XXXXXX)
CTRS=()
cleanup() {
	for c in "${CTRS[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
	[ "$KEEP" = 1 ] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/data" "$WORK/src" "$WORK/out"
echo "hello from the project" >"$WORK/src/README.md"
chown -R 1000:1000 "$WORK/data"
chmod 777 "$WORK/out"
ctr=$(buildah from --pull-never "$IMAGE")
CTRS+=("$ctr")
RUN=(buildah run --isolation chroot --network host -v "$WORK/data:/data:rw" -v "$WORK/src:/src:ro" -v "$WORK/out:/out:rw")
uid=$("${RUN[@]}" "$ctr" -- id -u)
[ "$uid" = 1000 ] || fail "commands in the container run as uid $uid"
"${RUN[@]}" "$ctr" -- node dist/src/cli/main.js project init acme/app --from /src >&2
SID=$("${RUN[@]}" "$ctr" -- node dist/src/cli/main.js session start --project acme/app --goal image-test --json |
	node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).session.session_id))')
log "session $SID"

# ---- 5. the container's daemon in the kernel client's netns; the guest mounts through the portmapper
TOKEN=image-test-token
SERVE="node dist/src/cli/main.js serve --bind 0.0.0.0 --portmap --api-bind 0.0.0.0 --api-port 2050 --allow 169.254.77.0/24"
# the daemon, then (once it answers) the image's healthcheck command and the daemon's uid, from inside the container
# as docker run --sysctl net.ipv4.ip_unprivileged_port_start=111: uid 1000 may bind the portmapper's port
SERVER_CMD="sysctl -qw net.ipv4.ip_unprivileged_port_start=111; ${RUN[*]} --env MIC_API_TOKEN=$TOKEN $ctr -- $SERVE & srv=\$!
for i in \$(seq 120); do ss -Hltnp 'sport = :2049' | grep -q pid= && break; sleep 0.25; done
pid=\$(ss -Hltnp 'sport = :2049' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
echo \"\$(awk '/^Uid:/ {print \$2}' /proc/\$pid/status) \$(tr '\\0' ' ' </proc/\$pid/cmdline)\" >$WORK/out/daemon-uid.txt
for i in \$(seq 120); do
  if ${RUN[*]} $ctr -- node dist/src/cli/main.js doctor --ports-only >$WORK/out/health.txt 2>&1; then echo healthy >>$WORK/out/health.txt; break; fi
  sleep 0.5
done
wait \$srv"
cp test/integration/guest/portmap-mount.sh "$WORK/guest.sh"
set +e
bash "$KC" --timeout 180 --mount-cmd none --server-cmd "$SERVER_CMD" --server-log "$WORK/server.log" \
	--env SID="$SID" --env CLI="$REPO/dist/src/cli/main.js" --env OUT="$WORK/out" --env TOKEN="$TOKEN" --env WAIT_FOR=health.txt --rw "$WORK/out" \
	169.254.77.1 2049 111 "/exports/sessions/$SID" "$WORK/guest.sh" >"$WORK/guest.out" 2>&1
rc=$?
set -e
cat "$WORK/guest.out" >&2
[ $rc = 0 ] || { tail -30 "$WORK/server.log" >&2; fail "kernel client run exited $rc"; }
grep -q ALL-OK "$WORK/guest.out" || fail "guest script did not finish"
grep -Eq '100005 +3 +tcp +2049 +mountd' "$WORK/guest.out" || fail "rpcinfo -p did not list MOUNT"
grep -q "^\\$ mount -t nfs -o vers=3,proto=tcp,mountproto=tcp,nolock 169.254.77.1:/exports/sessions/$SID " "$WORK/out/mic-mount.out" ||
	fail "mic mount did not print the expected command"
grep -q healthy "$WORK/out/health.txt" || { cat "$WORK/out/health.txt" >&2; fail "healthcheck did not pass"; }
read -r duid dcmd <"$WORK/out/daemon-uid.txt" || true
[ "$duid" = 1000 ] && [[ $dcmd == *"dist/src/cli/main.js serve"* ]] || fail "the process on port 2049 is uid '$duid': $dcmd"
log "ok: the daemon (listening on 2049) runs as uid $duid: $dcmd"
# /metrics, scraped by the guest while the session was mounted: well-formed, and NFS WRITEs counted
node --input-type=module -e "
import { readFileSync } from 'node:fs';
const t = readFileSync('$WORK/out/during.txt', 'utf8');
for (const l of t.split('\n')) if (l && !l.startsWith('#') && !/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$/.test(l)) throw new Error('bad metrics line: ' + l);
const w = t.split('\n').filter((l) => l.startsWith('mic_rpc_calls_total{') && l.includes('procedure=\"WRITE\"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
if (!(w > 0)) throw new Error('no NFS WRITE counted in /metrics');
console.error('image-test: ok: /metrics has ' + w + ' NFS WRITE calls');
"
lap "PASS: image built, runs as uid 1000 with a healthcheck, serves MOUNT/NFS/portmap to the kernel client, /metrics answers"
