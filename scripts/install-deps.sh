#!/usr/bin/env bash
# Idempotent set-up of a Debian 12 machine (as root) for the test suite and benchmarks:
#   - system packages (only the missing ones; apt-get update only when needed),
#   - npm dependencies (npm ci when node_modules does not hold what package-lock.json says: scripts/deps-current.mjs;
#     the lock's mtime alone, a checkout or merge that touched it, costs no reinstall),
#   - the real-kernel NFS client tool (../shared/tools/nfs-kernel-client.sh install);
#   - autoconf, automake, make, gcc, perl: pjdfstest.sh builds pjdfstest (test/integration/pjdfstest.test.ts).
# Safe to run again: does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
SHARED=$(dirname "$REPO")/shared
log() { echo "install-deps: $*" >&2; }

[ -d "$SHARED/tools" ] || { log "missing $SHARED/tools: the shared/ directory must sit next to the repository ($REPO)"; exit 1; }
[ -f "$SHARED/tools/nfs-kernel-client.sh" ] || { log "missing $SHARED/tools/nfs-kernel-client.sh"; exit 1; }

PKGS=(user-mode-linux libnfs-utils libnfs-dev socat kmod iproute2 util-linux pkg-config gcc libc6-dev git
	nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common
	radosgw ceph-mon ceph-osd curl uuid-runtime perl
	autoconf automake make chromium sqlite3)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { log "need root to install: ${missing[*]}"; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	APT=(apt-get -o DPkg::Lock::Timeout=600)
	INSTALL=("${APT[@]}" -y --no-install-recommends install "${missing[@]}")
	logf=$(mktemp /tmp/install-deps.XXXXXX.log)
	# no service may start from a package's postinst (nfs-ganesha, rpcbind would listen
	# on all interfaces); the tests and benchmarks start their own servers on loopback
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	log "installing: ${missing[*]}"
	updated=0
	# no package lists at all (fresh image): update first
	if ! ls /var/lib/apt/lists/ 2>/dev/null | grep -q '_Packages'; then
		"${APT[@]}" update >>"$logf" 2>&1 || { tail -20 "$logf" >&2; log "apt-get update failed"; exit 1; }
		updated=1
	fi
	if ! "${INSTALL[@]}" >>"$logf" 2>&1; then
		[ "$updated" = 1 ] && { tail -20 "$logf" >&2; log "apt-get install failed (log $logf)"; exit 1; }
		"${APT[@]}" update >>"$logf" 2>&1 || { tail -20 "$logf" >&2; log "apt-get update failed"; exit 1; }
		"${INSTALL[@]}" >>"$logf" 2>&1 || { tail -20 "$logf" >&2; log "apt-get install failed (log $logf)"; exit 1; }
	fi
	rm -f "$logf"
fi

if ! node scripts/deps-current.mjs; then
	log "npm ci"
	npm ci --no-audit --no-fund
fi

bash "$SHARED/tools/nfs-kernel-client.sh" install >&2
