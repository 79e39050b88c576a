// Issue 8 item 9: no number of connections can take the daemon down. Before the fix there was
// no limit and no timeout: ~20k idle sockets used up the file descriptors, after which WRITE
// answered SERVERFAULT and new clients were dropped.
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NfsStatus, StableHow } from '../lib/nfs3-client.js';
import type { Daemon } from '../lib/daemon.js';
import { closedWithin, daemonWithSession, mountFrom, rawConnect, sleep, waitForLog } from './wire.js';

/** Opens `perAddress` sockets from each of `addresses`; resolves with those that connected. */
async function flood(port: number, addresses: string[], perAddress: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  for (const a of addresses) {
    const got = await Promise.allSettled(Array.from({ length: perAddress }, () => rawConnect(port, a)));
    for (const g of got) if (g.status === 'fulfilled') socks.push(g.value);
  }
  return socks;
}

const refused =
  (reason: RegExp) =>
  (l: Record<string, unknown>): boolean =>
    l.msg === 'rpc: connection refused' && reason.test(String(l.reason));

describe('idle sockets cannot exhaust file descriptors', () => {
  let d: Daemon;
  let exportPath: string;
  const socks: net.Socket[] = [];
  beforeAll(async () => {
    // 1200 descriptors; the default reserve (a quarter: 300) caps connections at 900
    ({ d, exportPath } = await daemonWithSession({
      wrap: ['prlimit', '--nofile=1200:1200', '--'],
      env: { MIC_MAX_CONNECTIONS: '100000' },
    }));
  });
  afterAll(async () => {
    for (const s of socks) s.destroy();
    await d?.stop();
  });

  it('1500 idle sockets from 15 addresses: the excess is refused at accept and WRITE still works', async () => {
    const { c, root } = await mountFrom(d.port, exportPath);
    const addrs = Array.from({ length: 15 }, (_, i) => `127.0.1.${i + 1}`);
    socks.push(...(await flood(d.port, addrs, 100)));
    // the mounted client creates a file (a new data file descriptor) and writes it durably
    const made = await c.create(root, 'after-flood.txt');
    expect(made.status).toBe(NfsStatus.OK);
    const w = await c.write(made.fh!, 0, Buffer.from('still here\n'), StableHow.FILE_SYNC);
    expect(w.status).toBe(NfsStatus.OK);
    const r = await c.read(made.fh!, 0, 100);
    expect(r.data!.toString()).toBe('still here\n');
    const [limits] = d.logLines((l) => l.msg === 'connection limits and export options');
    expect(limits).toMatchObject({ openFileLimit: 1200, fdReserve: 300, maxConnections: 900 });
    const lines = await waitForLog(d, refused(/^connection limit \(900\)/));
    expect(lines.length).toBeGreaterThan(0);
    let open = 0;
    await sleep(200);
    for (const s of socks) if (!s.destroyed && !s.readableEnded) open++;
    expect(open).toBeLessThanOrEqual(900);
    await c.close();
  });
});

describe('per-address limit, idle and partial-record timeouts', () => {
  let d: Daemon;
  let exportPath: string;
  beforeAll(async () => {
    ({ d, exportPath } = await daemonWithSession({
      env: { MIC_MAX_CONNECTIONS_PER_ADDRESS: '20', MIC_IDLE_TIMEOUT: '2', MIC_RECORD_TIMEOUT: '1' },
    }));
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('one address gets at most 20 connections; another address is still served', async () => {
    const socks = await flood(d.port, ['127.0.2.1'], 30);
    const closed = await Promise.all(socks.map((s) => closedWithin(s, 1000)));
    expect(closed.filter((x) => !x).length).toBe(20);
    expect(closed.filter((x) => x).length).toBe(10);
    expect((await waitForLog(d, refused(/per-address connection limit \(20\)/))).length).toBeGreaterThan(0);
    const { c, root } = await mountFrom(d.port, exportPath, '127.0.2.2');
    expect((await c.getattr(root)).status).toBe(NfsStatus.OK);
    await c.close();
    for (const s of socks) s.destroy();
  });

  it('an idle connection is closed after --idle-timeout', async () => {
    const s = await rawConnect(d.port, '127.0.2.3');
    expect(await closedWithin(s, 8000)).toBe(true);
    expect((await waitForLog(d, (l) => l.msg === 'rpc: idle connection closed')).length).toBeGreaterThan(0);
  });

  it('a record left incomplete is closed after --record-timeout, even if bytes trickle in', async () => {
    const stalled = await rawConnect(d.port, '127.0.2.4');
    const h = Buffer.alloc(4);
    h.writeUInt32BE((0x80000000 | 100) >>> 0, 0);
    stalled.write(Buffer.concat([h, Buffer.alloc(10)]));
    const trickle = await rawConnect(d.port, '127.0.2.5');
    trickle.write(h);
    const t = setInterval(() => {
      if (!trickle.destroyed) trickle.write(Buffer.alloc(1));
    }, 200);
    try {
      expect(await closedWithin(stalled, 6000)).toBe(true);
      expect(await closedWithin(trickle, 6000)).toBe(true);
    } finally {
      clearInterval(t);
    }
    expect((await waitForLog(d, (l) => l.msg === 'rpc: record incomplete for too long, closing connection', 2)).length).toBe(2);
  });

  it('a peer that never reads its replies is closed after --record-timeout', async () => {
    const s = await rawConnect(d.port, '127.0.2.6');
    // 200k NULL calls (AUTH_NONE): ~9 MB of replies, more than the socket buffers hold
    const call = Buffer.alloc(44);
    call.writeUInt32BE((0x80000000 | 40) >>> 0, 0);
    call.writeUInt32BE(2, 12); // rpcvers
    call.writeUInt32BE(100003, 16);
    call.writeUInt32BE(3, 20);
    const many = Buffer.alloc(44 * 200_000);
    for (let i = 0; i < 200_000; i++) {
      call.writeUInt32BE(i + 1, 4);
      call.copy(many, i * 44);
    }
    s.write(many);
    expect((await waitForLog(d, (l) => l.msg === 'rpc: replies unread for too long, closing connection', 1, 15_000)).length).toBe(1);
    expect(await closedWithin(s, 10_000)).toBe(true);
  });
});
