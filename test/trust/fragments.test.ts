// Issue 8 item 8: record-marking fragments (RFC 5531 §11) cannot exhaust the daemon's memory.
// Before the fix every fragment was kept as its own buffer view: a stream of 1-byte fragments
// cost ~120 bytes of heap per byte of traffic, ~245 MiB per connection up to the record limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XdrWriter } from '../../rpc/xdr.js';
import { writeCallHeader, AUTH_NONE, parseReply, SUCCESS } from '../../rpc/message.js';
import { NfsStatus } from '../lib/nfs3-client.js';
import type { Daemon } from '../lib/daemon.js';
import { MiB, closedWithin, daemonWithSession, mountFrom, procMem, rawConnect, waitForLog } from './wire.js';

let d: Daemon;
let exportPath: string;
beforeAll(async () => {
  ({ d, exportPath } = await daemonWithSession());
});
afterAll(async () => {
  await d?.stop();
});

/** `n` fragments of one byte each, none of them the last. */
function oneByteFragments(n: number): Buffer {
  const b = Buffer.alloc(n * 5);
  for (let i = 0; i < n; i++) {
    b.writeUInt32BE(1, i * 5);
    b[i * 5 + 4] = i & 0xff;
  }
  return b;
}

describe('record-marking fragments', () => {
  it('a call sent as 1-byte fragments is reassembled and answered', async () => {
    const w = new XdrWriter();
    writeCallHeader(w, { xid: 0x0badf00d, prog: 100003, vers: 3, proc: 0, credFlavor: AUTH_NONE, credBody: Buffer.alloc(0) });
    const body = w.toBuffer();
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i++) {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(((i === body.length - 1 ? 0x80000000 : 0) | 1) >>> 0, 0);
      parts.push(h, body.subarray(i, i + 1));
    }
    const s = await rawConnect(d.port);
    const got = new Promise<Buffer>((resolve) => s.once('data', resolve));
    s.write(Buffer.concat(parts));
    const reply = await got;
    const r = parseReply(reply.subarray(4));
    expect(r.xid).toBe(0x0badf00d);
    expect(r.kind === 'accepted' && r.stat).toBe(SUCCESS);
    s.destroy();
  });

  it('streams of 1-byte fragments on several connections: each is closed, memory stays bounded, others are served', async () => {
    const { c, root } = await mountFrom(d.port, exportPath);
    const peakBefore = procMem(d.pid, 'VmHWM');
    // 4 connections x 600k fragments = 12 MB of traffic (before the fix: ~280 MiB of heap)
    const stream = oneByteFragments(600_000);
    const socks = await Promise.all([0, 1, 2, 3].map(() => rawConnect(d.port)));
    for (const s of socks) s.write(stream);
    for (const s of socks) expect(await closedWithin(s, 20_000)).toBe(true);
    const growth = procMem(d.pid, 'VmHWM') - peakBefore;
    expect(growth).toBeLessThan(64 * MiB);
    expect((await waitForLog(d, (l) => l.msg === 'rpc: too many fragments in a record, closing connection', 4)).length).toBe(4);
    expect((await c.getattr(root)).status).toBe(NfsStatus.OK);
    await c.close();
  });
});

describe('memory of partial records, all connections together', () => {
  let m: Daemon;
  let mExport: string;
  beforeAll(async () => {
    ({ d: m, exportPath: mExport } = await daemonWithSession({ env: { MIC_RECORD_MEMORY: '8' } }));
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('12 connections each holding 1 MiB of an unfinished 2 MiB record: those over the 8 MiB budget are closed', async () => {
    const { c, root } = await mountFrom(m.port, mExport);
    const head = Buffer.alloc(4);
    head.writeUInt32BE((0x80000000 | (2 * 1024 * 1024)) >>> 0, 0);
    const socks = await Promise.all(Array.from({ length: 12 }, () => rawConnect(m.port)));
    for (const s of socks) s.write(Buffer.concat([head, Buffer.alloc(1024 * 1024, 0x55)]));
    const closed = (await waitForLog(m, (l) => l.msg === 'rpc: partial records over their memory budget, closing connection', 4)).length;
    expect(closed).toBeGreaterThanOrEqual(4);
    expect(closed).toBeLessThanOrEqual(5);
    expect((await c.getattr(root)).status).toBe(NfsStatus.OK);
    for (const s of socks) s.destroy();
    await c.close();
  });
});
