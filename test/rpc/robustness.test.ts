import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RpcClosedError, RpcTimeoutError, type RpcClient } from '../../rpc/client.js';
import { AUTH_NONE, GARBAGE_ARGS, parseReply } from '../../rpc/message.js';
import { P, TEST_PROG, callBody, captureLogger, delay, framed, start, testPrograms, u32s, type Started } from './helpers.js';

let s: Started;
let healthy: RpcClient;
let logs: ReturnType<typeof captureLogger>;

beforeEach(async () => {
  logs = captureLogger('debug');
  s = await start(testPrograms(), { logger: logs.log, maxRecordSize: 64 * 1024 });
  healthy = await s.connect();
});
afterEach(() => s.stop());

/** The server still answers on an untouched connection. */
async function stillServing(): Promise<void> {
  expect((await healthy.call(TEST_PROG, 3, P.ADD, u32s(20, 22), { timeoutMs: 2000 })).u32()).toBe(42);
}

const closed = (c: RpcClient): Promise<void> =>
  (async () => {
    for (let i = 0; i < 200 && !c.closed; i++) await delay(5);
  })();

describe('robustness', () => {
  it('drops framed garbage that is not a call and keeps the connection', async () => {
    const c = await s.connect();
    c.sendRaw(framed(Buffer.from([1, 2, 3]))); // too short for an xid and msg_type
    c.sendRaw(framed(u32s(55, 1, 0, 0))); // a REPLY sent to the server
    c.sendRaw(framed(u32s(56, 9, 9, 9, 9, 9))); // unknown msg_type
    c.sendRaw(framed(Buffer.alloc(0))); // empty record
    await expect(c.waitForReply(55, 150)).rejects.toBeInstanceOf(RpcTimeoutError);
    await expect(c.waitForReply(56, 50)).rejects.toBeInstanceOf(RpcTimeoutError);
    expect((await c.call(TEST_PROG, 3, P.ADD, u32s(1, 1), { timeoutMs: 2000 })).u32()).toBe(2);
    expect(logs.lines.some((l) => l.msg === 'rpc: record is not a call, dropped')).toBe(true);
  });

  it('answers GARBAGE_ARGS to a call whose header is cut short', async () => {
    const c = await s.connect();
    const reply = parseReply(await c.callRawRecord(u32s(57, 0, 2, TEST_PROG, 3), { timeoutMs: 2000 }));
    expect(reply).toEqual({ xid: 57, kind: 'accepted', stat: GARBAGE_ARGS, verfFlavor: AUTH_NONE, bodyStart: 24 });
    const xid = c.nextXid();
    const full = callBody({ xid, prog: TEST_PROG, vers: 3, proc: 0 });
    expect(parseReply(await c.callRawRecord(full.subarray(0, full.length - 6), { timeoutMs: 2000 })).stat).toBe(GARBAGE_ARGS);
    await stillServing();
  });

  it('survives random bytes: the connection is closed or ignored, others keep working', async () => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let round = 0; round < 5; round++) {
      const c = await s.connect();
      c.sendRaw(Buffer.from(Array.from({ length: 2000 }, rand)));
      await delay(20);
      c.destroy();
    }
    await stillServing();
  });

  it('closes a connection that announces an oversize record, and logs why', async () => {
    const c = await s.connect();
    const pending = c.call(TEST_PROG, 3, P.SLOW, u32s(200, 1), { timeoutMs: 5000 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE((0x80000000 | (64 * 1024 + 1)) >>> 0, 0);
    c.sendRaw(header);
    await expect(pending).rejects.toBeInstanceOf(RpcClosedError);
    expect(c.closed).toBe(true);
    expect(logs.lines.some((l) => l.msg === 'rpc: record too large, closing connection' && l.level === 40)).toBe(true);
    await stillServing();
  });

  it('shrugs off a record truncated by the peer closing', async () => {
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const body = callBody({ xid: 58, prog: TEST_PROG, vers: 3, proc: P.ADD }, u32s(1, 2));
    sock.end(framed(body).subarray(0, 30));
    await new Promise((r) => sock.once('close', r));
    await stillServing();
  });

  it('reassembles a call sent as several fragments in separate writes', async () => {
    const c = await s.connect();
    const xid = c.nextXid();
    const body = callBody({ xid, prog: TEST_PROG, vers: 3, proc: P.ADD }, u32s(5, 6));
    const frag = (b: Buffer, last: boolean): Buffer => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(((last ? 0x80000000 : 0) | b.length) >>> 0, 0);
      return Buffer.concat([h, b]);
    };
    const reply = c.waitForReply(xid, 2000);
    c.sendRaw(frag(body.subarray(0, 10), false).subarray(0, 7));
    await delay(10);
    c.sendRaw(Buffer.concat([frag(body.subarray(0, 10), false).subarray(7), frag(body.subarray(10, 31), false)]));
    await delay(10);
    c.sendRaw(frag(body.subarray(31), true));
    const rec = await reply;
    const h = parseReply(rec);
    expect(h.stat).toBe(0);
    expect(rec.readUInt32BE(h.kind === 'accepted' ? h.bodyStart : 0)).toBe(11);
  });

  it('drops the late reply of a call whose connection was reset', async () => {
    const c = await s.connect();
    c.call(TEST_PROG, 3, P.SLOW, u32s(100, 9)).catch(() => {});
    await delay(30);
    c.destroy();
    await closed(c);
    await delay(150); // the handler finishes after the reset
    expect(logs.lines.some((l) => l.msg === 'rpc: reply dropped, connection closed')).toBe(true);
    await stillServing();
  });

  it('closes every connection on close()', async () => {
    const c = await s.connect();
    await c.call(TEST_PROG, 3, P.NULL);
    await s.server.close();
    await closed(c);
    await closed(healthy);
    expect(c.closed && healthy.closed).toBe(true);
    expect(s.server.connectionCount).toBe(0);
    s = await start(testPrograms()); // afterEach needs a live server to stop
  });
});
