import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseReply, SUCCESS } from '../../rpc/message.js';
import { RecordDecoder } from '../../rpc/record-marking.js';
import { XdrReader } from '../../rpc/xdr.js';
import { P, TEST_PROG, callBody, delay, framed, program, start, testPrograms, u32s, type Started } from './helpers.js';

let s: Started | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe('concurrency and flow control', () => {
  it('writes replies as calls finish: a fast call overtakes a slow one', async () => {
    s = await start(testPrograms());
    const c = await s.connect();
    const order: string[] = [];
    const slow = c.call(TEST_PROG, 3, P.SLOW, u32s(150, 1)).then((r) => order.push(`slow:${r.u32()}`));
    const fast = c.call(TEST_PROG, 3, P.SLOW, u32s(0, 2)).then((r) => order.push(`fast:${r.u32()}`));
    const sync = c.call(TEST_PROG, 3, P.ADD, u32s(2, 3)).then((r) => order.push(`sync:${r.u32()}`));
    await Promise.all([slow, fast, sync]);
    expect(order).toEqual(['sync:5', 'fast:2', 'slow:1']);
  });

  it('answers thousands of pipelined calls, never running more than the in-flight limit at once', async () => {
    let running = 0;
    let peak = 0;
    const prog = program(TEST_PROG, 3, {
      1: async (a, o) => {
        const v = a.u32();
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        running--;
        o.u32(v * 2);
      },
      2: (a, o) => void o.u32(a.u32() + 1),
    });
    s = await start([prog], { maxInFlightPerConnection: 4 });
    const c = await s.connect();
    const calls: Promise<number>[] = [];
    for (let i = 0; i < 3000; i++) {
      const proc = i % 3 === 0 ? 2 : 1;
      calls.push(c.call(TEST_PROG, 3, proc, u32s(i)).then((r) => r.u32()));
    }
    const results = await Promise.all(calls);
    results.forEach((v, i) => expect(v).toBe(i % 3 === 0 ? i + 1 : i * 2));
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
  });

  it('stops taking calls while the client does not read its replies, then answers them all', async () => {
    s = await start(testPrograms(), { maxInFlightPerConnection: 8 });
    let handled = 0;
    const big = testPrograms()[1].procs.get(P.BIG)!;
    s.server.register(
      program(TEST_PROG + 1, 1, {
        0: {
          name: 'big',
          idempotent: true,
          handler: (a, o, ctx) => {
            handled++;
            return big.handler(a, o, ctx);
          },
        },
      }),
    );
    const N = 100;
    const SIZE = 512 * 1024;
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.pause();
    const calls: Buffer[] = [];
    for (let i = 0; i < N; i++) calls.push(framed(callBody({ xid: 1000 + i, prog: TEST_PROG + 1, vers: 1, proc: 0 }, u32s(SIZE))));
    sock.write(Buffer.concat(calls));
    await delay(300);
    // the server stopped dispatching once its socket buffers filled up
    expect(handled).toBeGreaterThan(0);
    expect(handled).toBeLessThan(N);

    const seen = new Set<number>();
    const done = new Promise<void>((resolve, reject) => {
      const d = new RecordDecoder(
        (rec) => {
          const h = parseReply(rec);
          try {
            expect(h.stat).toBe(SUCCESS);
            const body = new XdrReader(rec, h.kind === 'accepted' ? h.bodyStart : 0).opaque();
            expect(body.length).toBe(SIZE);
            expect(body[SIZE - 1]).toBe(0x5a);
          } catch (e) {
            reject(e);
          }
          seen.add(h.xid);
          if (seen.size === N) resolve();
        },
        { maxRecordSize: SIZE + 1024 },
      );
      sock.on('data', (c: Buffer) => d.push(c));
    });
    sock.resume();
    await done;
    expect(handled).toBe(N);
    expect(seen.size).toBe(N);
    sock.destroy();
  });

  it('serves several programs and connections on one port', async () => {
    const other = program(0x20000999, 7, { 3: (a, o) => void o.u32(a.u32() * 10) });
    s = await start([...testPrograms(), other]);
    const [c1, c2] = await Promise.all([s.connect(), s.connect()]);
    const [a, b] = await Promise.all([c1.call(0x20000999, 7, 3, u32s(4)), c2.call(TEST_PROG, 3, P.ADD, u32s(4, 4))]);
    expect([a.u32(), b.u32()]).toEqual([40, 8]);
    expect(s.server.connectionCount).toBe(2);
  });
});
