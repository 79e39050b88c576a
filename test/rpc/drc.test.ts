import { afterEach, describe, expect, it } from 'vitest';
import { RpcTimeoutError } from '../../rpc/client.js';
import { DuplicateRequestCache } from '../../rpc/drc.js';
import { parseReply, SUCCESS } from '../../rpc/message.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { TEST_PROG, callBody, delay, framed, start, u32s, type Started } from './helpers.js';
import type { ProgramVersion } from '../../rpc/handler.js';

describe('DuplicateRequestCache', () => {
  const rec = Buffer.concat([Buffer.alloc(40), u32s(1, 2, 3)]);

  it('records a call as in progress, then keeps its reply', () => {
    const drc = new DuplicateRequestCache();
    const k = drc.key('10.0.0.1', 5, 100003, 3, 7, rec, 40);
    expect(drc.begin(k)).toBeNull();
    expect(drc.begin(k)?.state).toBe('in-progress');
    drc.finish(k, Buffer.from('reply'));
    const e = drc.begin(k);
    expect(e?.state).toBe('done');
    expect(e?.reply?.toString()).toBe('reply');
  });

  it('keys on address, xid, procedure and a checksum of the arguments', () => {
    const drc = new DuplicateRequestCache();
    const k = drc.key('10.0.0.1', 5, 100003, 3, 7, rec, 40);
    expect(drc.key('10.0.0.1', 5, 100003, 3, 7, Buffer.from(rec), 40)).toBe(k);
    expect(drc.key('10.0.0.2', 5, 100003, 3, 7, rec, 40)).not.toBe(k);
    expect(drc.key('10.0.0.1', 6, 100003, 3, 7, rec, 40)).not.toBe(k);
    expect(drc.key('10.0.0.1', 5, 100003, 3, 8, rec, 40)).not.toBe(k);
    const changed = Buffer.from(rec);
    changed[44] ^= 1;
    expect(drc.key('10.0.0.1', 5, 100003, 3, 7, changed, 40)).not.toBe(k);
    expect(drc.key('10.0.0.1', 5, 100003, 3, 7, Buffer.concat([rec, u32s(0)]), 40)).not.toBe(k);
  });

  it('is bounded by entry count, evicting the oldest first', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 4 });
    for (let i = 0; i < 10; i++) drc.begin(`k${i}`);
    expect(drc.size).toBe(4);
    expect(drc.begin('k9')?.state).toBe('in-progress');
    expect(drc.begin('k0')).toBeNull(); // forgotten, so new again
  });

  it('forgets entries older than maxAgeMs', async () => {
    const drc = new DuplicateRequestCache({ maxAgeMs: 30 });
    drc.begin('a');
    drc.finish('a', Buffer.from('x'));
    drc.begin('b');
    await delay(50);
    drc.begin('c'); // pruning happens as new calls arrive
    expect(drc.size).toBe(1);
    expect(drc.begin('a')).toBeNull();
  });

  it('ignores finish for an evicted call and abandon for a finished one', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 1 });
    drc.begin('a');
    drc.begin('b');
    drc.finish('a', Buffer.from('late'));
    expect(drc.size).toBe(1);
    drc.finish('b', Buffer.from('r'));
    drc.abandon('b');
    expect(drc.begin('b')?.state).toBe('done');
  });

  it('a call abandoned and begun again is evicted from its new place in the age order, not its old one', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 3 });
    drc.begin('a');
    drc.abandon('a');
    drc.begin('b');
    drc.begin('c');
    drc.begin('a'); // again: now the newest
    drc.begin('d'); // full: the oldest live entry, b, goes
    expect(drc.size).toBe(3);
    expect(drc.begin('a')?.state).toBe('in-progress');
    expect(drc.begin('c')?.state).toBe('in-progress');
    expect(drc.begin('b')).toBeNull();
  });

  it('stays bounded through many abandoned calls and long runs of evictions', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 100 });
    for (let i = 0; i < 50_000; i++) {
      drc.begin(`k${i}`);
      if (i % 3 === 0) drc.abandon(`k${i}`);
      else drc.finish(`k${i}`, Buffer.from([i & 0xff]));
    }
    expect(drc.size).toBe(100);
    expect(drc.begin('k49999')?.reply).toEqual(Buffer.from([49999 & 0xff]));
    expect(drc.begin('k49000')).toBeNull(); // long evicted
    drc.clear();
    expect(drc.size).toBe(0);
    expect(drc.begin('k49999')).toBeNull();
  });
});

describe('duplicate-request cache in the server', () => {
  let s: Started | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  let runs = 0;
  let gate: (() => void) | null = null;
  function counting(): ProgramVersion {
    runs = 0;
    const procs = new Map([
      // non-idempotent: returns how many times it has run
      [1, { name: 'bump', idempotent: false, handler: (_a: XdrReader, o: XdrWriter) => void o.u32(++runs) }],
      // non-idempotent and held until the test opens the gate
      [
        2,
        {
          name: 'held',
          idempotent: false,
          handler: async (_a: XdrReader, o: XdrWriter) => {
            runs++;
            await new Promise<void>((r) => (gate = r));
            o.u32(runs);
          },
        },
      ],
      // idempotent: never cached
      [3, { name: 'peek', idempotent: true, handler: (_a: XdrReader, o: XdrWriter) => void o.u32(++runs) }],
    ]);
    return { prog: TEST_PROG, vers: 3, procs };
  }

  const result = (rec: Buffer): number => {
    const h = parseReply(rec);
    expect(h.stat).toBe(SUCCESS);
    return new XdrReader(rec, h.kind === 'accepted' ? h.bodyStart : 0).u32();
  };

  it('answers a retransmitted non-idempotent call with the original reply, running it once', async () => {
    s = await start([counting()]);
    const c = await s.connect();
    const body = callBody({ xid: 4242, prog: TEST_PROG, vers: 3, proc: 1 }, u32s(9));
    const first = await c.callRawRecord(body);
    const second = await c.callRawRecord(body);
    expect(result(first)).toBe(1);
    expect(second.equals(first)).toBe(true);
    expect(runs).toBe(1);
    // the same xid with different arguments is a new call
    expect(result(await c.callRawRecord(callBody({ xid: 4242, prog: TEST_PROG, vers: 3, proc: 1 }, u32s(10))))).toBe(2);
  });

  it('answers a retransmission arriving on a new connection (new port, same address)', async () => {
    s = await start([counting()]);
    const c1 = await s.connect();
    const body = callBody({ xid: 777, prog: TEST_PROG, vers: 3, proc: 1 });
    const first = await c1.callRawRecord(body);
    await c1.close();
    const c2 = await s.connect();
    expect((await c2.callRawRecord(body)).equals(first)).toBe(true);
    expect(runs).toBe(1);
  });

  it('keeps the reply of a call whose connection dropped before it finished', async () => {
    s = await start([counting()]);
    const c1 = await s.connect();
    const body = callBody({ xid: 31337, prog: TEST_PROG, vers: 3, proc: 2 });
    c1.callRawRecord(body).catch(() => {});
    while (gate === null) await delay(2);
    c1.destroy();
    await delay(20);
    gate!();
    gate = null;
    await delay(20);
    const c2 = await s.connect();
    expect(result(await c2.callRawRecord(body, { timeoutMs: 2000 }))).toBe(1);
    expect(runs).toBe(1);
  });

  it('drops a retransmission that arrives while the original is still running', async () => {
    s = await start([counting()]);
    const c = await s.connect();
    const body = callBody({ xid: 99, prog: TEST_PROG, vers: 3, proc: 2 });
    const reply = c.callRawRecord(body);
    while (gate === null) await delay(2);
    c.sendRaw(framed(body));
    await delay(50);
    expect(runs).toBe(1);
    gate!();
    gate = null;
    expect(result(await reply)).toBe(1);
    // no second reply for the dropped retransmission
    await expect(c.waitForReply(99, 200)).rejects.toBeInstanceOf(RpcTimeoutError);
    expect(runs).toBe(1);
  });

  it('does not cache idempotent procedures', async () => {
    s = await start([counting()]);
    const c = await s.connect();
    const body = callBody({ xid: 5, prog: TEST_PROG, vers: 3, proc: 3 });
    expect(result(await c.callRawRecord(body))).toBe(1);
    expect(result(await c.callRawRecord(body))).toBe(2);
    expect(s.server.drc!.size).toBe(0);
  });

  it('stays within its entry bound', async () => {
    s = await start([counting()], { drc: { maxEntries: 16 } });
    const c = await s.connect();
    for (let i = 0; i < 50; i++) await c.call(TEST_PROG, 3, 1);
    expect(runs).toBe(50);
    expect(s.server.drc!.size).toBe(16);
  });

  it('can be turned off', async () => {
    s = await start([counting()], { drc: false });
    const c = await s.connect();
    const body = callBody({ xid: 6, prog: TEST_PROG, vers: 3, proc: 1 });
    expect(result(await c.callRawRecord(body))).toBe(1);
    expect(result(await c.callRawRecord(body))).toBe(2);
    expect(s.server.drc).toBeNull();
  });
});
