import { afterEach, describe, expect, it } from 'vitest';
import { RpcTimeoutError } from '../../rpc/client.js';
import { DuplicateRequestCache, type DrcEntry } from '../../rpc/drc.js';
import { parseReply, SUCCESS } from '../../rpc/message.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { TEST_PROG, callBody, delay, framed, start, u32s, type Started } from './helpers.js';
import type { ProgramVersion } from '../../rpc/handler.js';

describe('DuplicateRequestCache', () => {
  const rec = Buffer.concat([Buffer.alloc(40), u32s(1, 2, 3)]);
  /** call number i of one client (its xid), with the same arguments */
  const call = (drc: DuplicateRequestCache, i: number, address = '10.0.0.1') => drc.begin(address, i, 100003, 3, 7, rec, 40);
  const ticket = (v: number | DrcEntry): number => {
    expect(typeof v).toBe('number');
    return v as number;
  };
  const state = (v: number | DrcEntry) => (typeof v === 'number' ? null : v.state);

  it('records a call as in progress, then keeps its reply', () => {
    const drc = new DuplicateRequestCache();
    const t = ticket(call(drc, 5));
    expect(state(call(drc, 5))).toBe('in-progress');
    drc.finish(t, [Buffer.from('re'), Buffer.from('ply')]);
    const e = call(drc, 5) as DrcEntry;
    expect(e.state).toBe('done');
    expect(e.reply?.toString()).toBe('reply');
  });

  it('keeps a reply longer than a slot whole', () => {
    const drc = new DuplicateRequestCache();
    const big = Buffer.alloc(5000, 7);
    drc.finish(ticket(call(drc, 1)), big);
    expect((call(drc, 1) as DrcEntry).reply?.equals(big)).toBe(true);
  });

  it('keys on address, xid, procedure and a checksum of the arguments', () => {
    const drc = new DuplicateRequestCache();
    ticket(drc.begin('10.0.0.1', 5, 100003, 3, 7, rec, 40));
    expect(state(drc.begin('10.0.0.1', 5, 100003, 3, 7, Buffer.from(rec), 40))).toBe('in-progress');
    const changed = Buffer.from(rec);
    changed[44] ^= 1;
    for (const other of [
      () => drc.begin('10.0.0.2', 5, 100003, 3, 7, rec, 40),
      () => drc.begin('10.0.0.1', 6, 100003, 3, 7, rec, 40),
      () => drc.begin('10.0.0.1', 5, 100003, 3, 8, rec, 40),
      () => drc.begin('10.0.0.1', 5, 100005, 3, 7, rec, 40),
      () => drc.begin('10.0.0.1', 5, 100003, 2, 7, rec, 40),
      () => drc.begin('10.0.0.1', 5, 100003, 3, 7, changed, 40),
      () => drc.begin('10.0.0.1', 5, 100003, 3, 7, Buffer.concat([rec, u32s(0)]), 40),
    ])
      ticket(other());
    expect(drc.size).toBe(8);
  });

  it('is bounded by entry count, evicting the oldest first', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 4 });
    for (let i = 0; i < 10; i++) call(drc, i);
    expect(drc.size).toBe(4);
    expect(state(call(drc, 9))).toBe('in-progress');
    expect(typeof call(drc, 0)).toBe('number'); // forgotten, so new again
  });

  it('forgets entries older than maxAgeMs', async () => {
    const drc = new DuplicateRequestCache({ maxAgeMs: 30 });
    drc.finish(ticket(call(drc, 1)), Buffer.from('x'));
    call(drc, 2);
    await delay(50);
    call(drc, 3); // pruning happens as new calls arrive
    expect(drc.size).toBe(1);
    expect(typeof call(drc, 1)).toBe('number');
  });

  it('forgets an expired entry found by a retransmission, and an idle cache empties by its timer', async () => {
    const drc = new DuplicateRequestCache({ maxAgeMs: 30 });
    drc.finish(ticket(call(drc, 1)), Buffer.from('x'));
    await delay(50);
    expect(typeof call(drc, 1)).toBe('number'); // too old to answer from: run again
    drc.startTimer(10);
    await delay(80);
    drc.stopTimer();
    expect(drc.size).toBe(0);
  });

  it('ignores finish for an evicted call and abandon for a finished one', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 1 });
    const a = ticket(call(drc, 1));
    const b = ticket(call(drc, 2));
    drc.finish(a, Buffer.from('late'));
    expect(drc.size).toBe(1);
    expect(typeof call(drc, 1)).toBe('number'); // a is gone (and now evicts b)
    const b2 = ticket(call(drc, 2));
    drc.finish(b, Buffer.from('stale ticket'));
    expect(state(call(drc, 2))).toBe('in-progress');
    drc.finish(b2, Buffer.from('r'));
    drc.abandon(b2);
    expect((call(drc, 2) as DrcEntry).reply?.toString()).toBe('r');
  });

  it('a call abandoned and begun again is evicted from its new place in the age order, not its old one', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 3 });
    drc.abandon(ticket(call(drc, 1)));
    call(drc, 2);
    call(drc, 3);
    ticket(call(drc, 1)); // again: now the newest
    call(drc, 4); // full: the oldest live entry, 2, goes
    expect(drc.size).toBe(3);
    expect(state(call(drc, 1))).toBe('in-progress');
    expect(state(call(drc, 3))).toBe('in-progress');
    expect(typeof call(drc, 2)).toBe('number');
  });

  it('stays bounded through many abandoned calls and long runs of evictions, with colliding hashes', () => {
    const drc = new DuplicateRequestCache({ maxEntries: 100 });
    for (let i = 0; i < 50_000; i++) {
      // two clients using the same xids: same hash, told apart by address
      for (const address of ['10.0.0.1', '10.0.0.2']) {
        const t = ticket(call(drc, i, address));
        if (i % 3 === 0) drc.abandon(t);
        else drc.finish(t, Buffer.from([i & 0xff, address.length]));
      }
    }
    expect(drc.size).toBeLessThanOrEqual(100);
    expect((call(drc, 49999, '10.0.0.1') as DrcEntry).reply).toEqual(Buffer.from([49999 & 0xff, 8]));
    expect((call(drc, 49997, '10.0.0.2') as DrcEntry).reply).toEqual(Buffer.from([49997 & 0xff, 8]));
    expect(typeof call(drc, 49998, '10.0.0.2')).toBe('number'); // abandoned: runs again
    expect(typeof call(drc, 49000)).toBe('number'); // long evicted
    drc.clear();
    expect(drc.size).toBe(0);
    expect(typeof call(drc, 49999)).toBe('number');
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
