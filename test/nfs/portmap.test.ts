// The portmapper (RFC 1833 §3, PMAP v2) over TCP and UDP, in process: GETPORT, DUMP, SET/UNSET only
// for local callers on a reserved port, PROG_MISMATCH for rpcbind v3/v4, no CALLIT. Then `mic serve
// --portmap` next to a real rpcbind that owns port 111 (own network and mount namespaces): it
// registers MOUNT and NFS there and takes them back when it stops.
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROC_UNAVAIL, PROG_MISMATCH, SUCCESS, parseReply, writeCallHeader } from '../../rpc/message.js';
import { RecordDecoder, frame } from '../../rpc/record-marking.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { startPortmapper, type Portmapper } from '../../src/portmap/portmapper.js';
import { CLI } from '../lib/daemon.js';
import { REPO_ROOT } from '../lib/kernel.js';
import { tempDir } from '../session/helpers.js';

const log = pino({ level: 'silent' });
let xid = 100;

function call(proc: number, args: number[], vers = 2): Buffer {
  const w = new XdrWriter(128);
  writeCallHeader(w, { xid: ++xid, prog: 100000, vers, proc });
  for (const a of args) w.u32(a);
  return w.toBuffer();
}

/** One call over TCP from `localPort` (0: any); resolves with the reply record. */
function tcpCall(port: number, msg: Buffer, localPort = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, ...(localPort ? { localPort, localAddress: '127.0.0.1' } : {}) });
    const dec = new RecordDecoder((rec: Buffer) => {
      s.destroy();
      resolve(Buffer.from(rec));
    });
    s.on('data', (b: Buffer) => dec.push(b));
    s.on('error', reject);
    s.on('connect', () => s.write(Buffer.concat(frame([msg]))));
  });
}

function udpCall(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (m) => {
      s.close();
      resolve(m);
    });
    s.on('error', reject);
    s.send(msg, port, '127.0.0.1');
  });
}

function result(rec: Buffer): XdrReader {
  const h = parseReply(rec);
  expect(h).toMatchObject({ kind: 'accepted', stat: SUCCESS });
  return new XdrReader(rec, (h as { bodyStart: number }).bodyStart);
}

/** A free reserved port for the source of a "local" SET (the tests run as root); a new one per call (TIME_WAIT). */
async function reservedPort(): Promise<number> {
  for (let p = 600 + Math.floor(Math.random() * 300); p < 1023; p++) {
    const ok = await new Promise<boolean>((r) => {
      const srv = net.createServer();
      srv.once('error', () => r(false));
      srv.listen(p, '127.0.0.1', () => srv.close(() => r(true)));
    });
    if (ok) return p;
  }
  throw new Error('no free reserved port');
}

describe('portmapper', () => {
  let pm: Portmapper;
  beforeAll(async () => {
    pm = await startPortmapper({
      bind: '127.0.0.1',
      port: 0,
      log,
      services: [
        { prog: 100003, vers: 3, prot: 6, port: 2049 },
        { prog: 100005, vers: 3, prot: 6, port: 2049 },
      ],
    });
  });
  afterAll(async () => {
    await pm.close();
  });

  it('answers GETPORT and DUMP over TCP and UDP', async () => {
    expect(result(await tcpCall(pm.port, call(3, [100003, 3, 6, 0]))).u32()).toBe(2049);
    expect(result(await udpCall(pm.port, call(3, [100005, 3, 6, 0]))).u32()).toBe(2049);
    expect(result(await udpCall(pm.port, call(3, [100005, 3, 17, 0]))).u32()).toBe(0); // no MOUNT over UDP
    expect(result(await tcpCall(pm.port, call(3, [100021, 4, 6, 0]))).u32()).toBe(0); // no NLM
    const r = result(await udpCall(pm.port, call(4, [])));
    const maps: number[][] = [];
    while (r.u32() === 1) maps.push([r.u32(), r.u32(), r.u32(), r.u32()]);
    expect(maps).toEqual(
      expect.arrayContaining([
        [100000, 2, 6, pm.port],
        [100000, 2, 17, pm.port],
        [100003, 3, 6, 2049],
        [100005, 3, 6, 2049],
      ]),
    );
    expect(maps).toHaveLength(4);
    expect(result(await tcpCall(pm.port, call(0, []))).remaining).toBe(0); // NULL
  });

  it('refuses SET and UNSET from a non-reserved port, allows them from a local reserved one', async () => {
    expect(result(await tcpCall(pm.port, call(1, [300001, 1, 6, 4000]))).u32()).toBe(0);
    expect(result(await udpCall(pm.port, call(2, [100003, 3, 6, 0]))).u32()).toBe(0);
    expect(result(await tcpCall(pm.port, call(3, [100003, 3, 6, 0]))).u32()).toBe(2049); // still there
    expect(result(await tcpCall(pm.port, call(1, [300001, 1, 6, 4000]), await reservedPort())).u32()).toBe(1);
    expect(result(await tcpCall(pm.port, call(3, [300001, 1, 6, 0]))).u32()).toBe(4000);
    expect(result(await tcpCall(pm.port, call(1, [300001, 1, 6, 4001]), await reservedPort())).u32()).toBe(0); // already mapped
    expect(result(await tcpCall(pm.port, call(2, [300001, 1, 0, 0]), await reservedPort())).u32()).toBe(1);
    expect(result(await tcpCall(pm.port, call(3, [300001, 1, 6, 0]))).u32()).toBe(0);
  });

  it('answers PROG_MISMATCH 2..2 to rpcbind v3/v4 and PROC_UNAVAIL to CALLIT', async () => {
    const m = parseReply(await udpCall(pm.port, call(3, [], 4)));
    expect(m).toMatchObject({ kind: 'accepted', stat: PROG_MISMATCH, low: 2, high: 2 });
    expect(parseReply(await tcpCall(pm.port, call(5, [100003, 3, 0, 0])))).toMatchObject({ stat: PROC_UNAVAIL });
  });

  it('registers with a running rpcbind that owns port 111, and unregisters on stop', async () => {
    const dir = await tempDir('micfs-rpcbind-');
    const script = join(dir, 'run.sh');
    // private /run (rpcbind's socket and lock) and network: nothing of the host's is touched
    writeFileSync(
      script,
      `set -e
mount -t tmpfs tmpfs /run
ip link set lo up
rpcbind -f & RB=$!
trap 'kill $RB 2>/dev/null' EXIT
for i in $(seq 100); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
"${process.execPath}" "${CLI}" serve --data-dir "${dir}/data" --port 2049 --api-port off --portmap --log-format json >"${dir}/log" 2>&1 & P=$!
for i in $(seq 300); do grep -q "registered MOUNT" "${dir}/log" && break; kill -0 $P || break; sleep 0.1; done
rpcinfo -p 127.0.0.1
kill $P; wait $P || true
echo STOPPED
rpcinfo -p 127.0.0.1
`,
    );
    const r = spawnSync('unshare', ['--mount', '--net', '--propagation', 'private', 'bash', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const [during, after] = r.stdout.split('STOPPED');
    expect(during).toMatch(/100005\s+3\s+tcp\s+2049\s+mountd/);
    expect(during).toMatch(/100003\s+3\s+tcp\s+2049\s+nfs/);
    expect(during).toMatch(/100000\s+4\s+tcp\s+111\s+portmapper/); // rpcbind's own table, not ours
    expect(after).toMatch(/portmapper/);
    expect(after).not.toMatch(/nfs|mountd/);
  }, 90_000);
});
