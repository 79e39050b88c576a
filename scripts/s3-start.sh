#!/usr/bin/env bash
# Start a single-node Ceph cluster (1 mon, 1 memstore OSD, 1 radosgw) on 127.0.0.1 for mic-fs's S3 tests.
#
#   scripts/s3-start.sh [BASE]        (default BASE=/tmp/mic-s3)
#
# Everything lives under BASE (config, logs, pid files); stop it with scripts/s3-stop.sh BASE.
# No systemd, no root-only paths. Installs the Debian packages radosgw, ceph-mon and ceph-osd when missing.
# On success prints, on stdout only, the environment for a client (also written to BASE/env):
#   AWS_ENDPOINT_URL=http://127.0.0.1:<port>
#   AWS_ACCESS_KEY_ID=...   AWS_SECRET_ACCESS_KEY=...   AWS_REGION=us-east-1   MIC_S3_BUCKET=...
#
# Environment knobs (all optional):
#   MON_PORT (21010)  RGW_PORT (21020)  MS_PORT_MIN/MS_PORT_MAX (21100/21199, daemon ports)
#   MEMSTORE_BYTES (1 GiB of RAM for the OSD)  S3_BUCKET (mic-test)  S3_ACCESS_KEY (mic)  S3_SECRET_KEY (micsecret)
#
# radosgw quirks worth knowing (Ceph 16): If-Match takes the ETag without quotes; a losing conditional PUT
# may answer 500 instead of 412; an ETag is the MD5 of the body.
set -euo pipefail

BASE=${1:-/tmp/mic-s3}
MON_PORT=${MON_PORT:-21010}
RGW_PORT=${RGW_PORT:-21020}
MS_PORT_MIN=${MS_PORT_MIN:-21100}
MS_PORT_MAX=${MS_PORT_MAX:-21199}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-1073741824}
BUCKET=${S3_BUCKET:-mic-test}
ACCESS=${S3_ACCESS_KEY:-mic}
SECRET=${S3_SECRET_KEY:-micsecret}

log() { echo "s3-start: $*" >&2; }
die() { log "$*"; exit 1; }

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
  [ "$(id -u)" = 0 ] || die "radosgw, ceph-mon and ceph-osd are not installed (apt-get install radosgw ceph-mon ceph-osd as root)"
  log "installing radosgw ceph-mon ceph-osd (a few minutes)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
    radosgw ceph-mon ceph-osd >"${TMPDIR:-/tmp}/mic-s3-apt.log" 2>&1 \
    || die "apt-get install failed, see ${TMPDIR:-/tmp}/mic-s3-apt.log"
fi
for t in curl uuidgen monmaptool radosgw-admin ceph; do command -v $t >/dev/null || die "missing tool: $t"; done

# Refuse to clobber a cluster that is still running from this BASE.
for f in "$BASE"/run/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qaF "$BASE/ceph.conf" "/proc/$pid/cmdline" 2>/dev/null; then
    die "a cluster is already running from $BASE (pid $pid); run scripts/s3-stop.sh $BASE first"
  fi
done

rm -rf "$BASE"
mkdir -p "$BASE"/{mon,osd,rgw,log,run}
FSID=$(uuidgen)
CONF=$BASE/ceph.conf
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind port min = $MS_PORT_MIN
ms bind port max = $MS_PORT_MAX
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
run dir = $BASE/run
log file = $BASE/log/\$name.log
admin socket = $BASE/run/\$name.asok
pid file = $BASE/run/\$name.pid
keyring = /dev/null
[mon]
mon data = $BASE/mon/\$name
mon data avail warn = 1
mon data avail crit = 0
[osd]
osd data = $BASE/osd/\$name
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd max object name len = 460
osd max object namespace len = 64
osd op num threads per shard = 1
osd op num shards = 2
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $BASE/rgw
rgw dns name = localhost
rgw thread pool size = 64
rgw enable usage log = false
rgw enable ops log = false
EOF

cleanup_on_error() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    log "start failed (exit $rc); logs in $BASE/log; stopping what was started"
    bash "$(dirname "$0")/s3-stop.sh" "$BASE" keep >/dev/null 2>&1 || true
  fi
}
trap cleanup_on_error EXIT

CEPH=(ceph -c "$CONF" --connect-timeout 5)

monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$BASE/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$BASE/monmap" >/dev/null
ceph-mon -c "$CONF" -i a 2>>"$BASE/log/start.err"
ok=
for _ in $(seq 1 100); do
  if timeout 5 "${CEPH[@]}" mon stat >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || die "ceph-mon did not answer on port $MON_PORT"

OSD_UUID=$(uuidgen)
OSD_ID=$(timeout 30 "${CEPH[@]}" osd new "$OSD_UUID")
mkdir -p "$BASE/osd/osd.$OSD_ID"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >/dev/null 2>&1
ceph-osd -c "$CONF" -i "$OSD_ID" 2>>"$BASE/log/start.err"
ok=
for _ in $(seq 1 300); do
  case "$(timeout 5 "${CEPH[@]}" osd stat 2>/dev/null || true)" in *"1 up"*) ok=1; break ;; esac
  sleep 0.2
done
[ -n "$ok" ] || die "ceph-osd did not come up"

radosgw -c "$CONF" -n client.rgw.a 2>>"$BASE/log/start.err"
timeout 60 radosgw-admin -c "$CONF" user create --uid mic --display-name mic \
  --access-key "$ACCESS" --secret-key "$SECRET" >/dev/null 2>&1 \
  || timeout 60 radosgw-admin -c "$CONF" user info --uid mic >/dev/null 2>&1 \
  || die "radosgw-admin user create failed"

ENDPOINT=http://127.0.0.1:$RGW_PORT
ok=
for _ in $(seq 1 300); do
  if curl -s -o /dev/null --max-time 2 "$ENDPOINT/"; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || die "radosgw did not answer on $ENDPOINT"

# Create the bucket (SigV4 through curl; 409 BucketAlreadyOwnedByYou is fine). radosgw wants the
# payload hash header, which curl 7.88 does not add by itself.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
code=000
for _ in $(seq 1 50); do
  code=$(curl -s -o "$BASE/log/create-bucket.out" -w '%{http_code}' --max-time 10 -X PUT \
    -H "x-amz-content-sha256: $EMPTY_SHA256" --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" "$ENDPOINT/$BUCKET" || true)
  case "$code" in 200 | 409) break ;; esac
  sleep 0.2
done
case "$code" in 200 | 409) ;; *) die "could not create bucket $BUCKET (HTTP $code): $(cat "$BASE/log/create-bucket.out" 2>/dev/null)" ;; esac

cat >"$BASE/env" <<EOF
AWS_ENDPOINT_URL=$ENDPOINT
AWS_ACCESS_KEY_ID=$ACCESS
AWS_SECRET_ACCESS_KEY=$SECRET
AWS_REGION=us-east-1
MIC_S3_BUCKET=$BUCKET
EOF
trap - EXIT
log "radosgw on $ENDPOINT, pids mon=$(cat "$BASE/run/mon.a.pid") osd=$(cat "$BASE/run/osd.$OSD_ID.pid") rgw=$(cat "$BASE/run/client.rgw.a.pid")"
cat "$BASE/env"
