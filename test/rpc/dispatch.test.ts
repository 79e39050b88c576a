import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RpcError } from '../../rpc/client.js';
import {
  AUTH_BADCRED,
  AUTH_ERROR,
  AUTH_NONE,
  AUTH_REJECTEDCRED,
  AUTH_SHORT,
  AUTH_SYS,
  GARBAGE_ARGS,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  RPC_MISMATCH,
  RPCSEC_GSS,
  SUCCESS,
  SYSTEM_ERR,
  parseReply,
} from '../../rpc/message.js';
import { XdrWriter } from '../../rpc/xdr.js';
import { P, TEST_PROG, callBody, captureLogger, start, testPrograms, u32s, type Started } from './helpers.js';

let s: Started;
let client: RpcClient;
const { log, lines } = captureLogger('info');

beforeAll(async () => {
  s = await start(testPrograms(), { logger: log });
  client = await s.connect();
});
afterAll(() => s.stop());

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

describe('RPC dispatch', () => {
  it('answers NULL with AUTH_SYS and with AUTH_NONE', async () => {
    expect((await client.call(TEST_PROG, 3, P.NULL)).remaining).toBe(0);
    expect((await client.call(TEST_PROG, 3, P.NULL, undefined, { auth: null })).remaining).toBe(0);
  });

  it('passes arguments and results', async () => {
    const r = await client.call(TEST_PROG, 3, P.ADD, u32s(40, 2));
    expect(r.u32()).toBe(42);
    expect(r.remaining).toBe(0);
  });

  it('carries a 1 MiB payload each way', async () => {
    const data = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const r = await client.call(TEST_PROG, 3, P.ECHO, new XdrWriter().opaqueRef(data));
    expect(r.opaque().equals(data)).toBe(true);
  });

  it('gives the handler the caller, its credential and the call identity', async () => {
    const c = await s.connect({ auth: { stamp: 9, machine: 'ws1', uid: 1000, gid: 100, gids: [10, 20] } });
    const r = await c.call(TEST_PROG, 3, P.WHOAMI);
    expect([r.u32(), r.u32(), r.u32(), r.string()]).toEqual([AUTH_SYS, 1000, 100, 'ws1']);
    expect([r.u32(), r.u32(), r.u32()]).toEqual([2, 10, 20]);
    expect(r.string()).toBe('127.0.0.1');
    r.u32(); // xid
    expect([r.u32(), r.u32(), r.u32()]).toEqual([TEST_PROG, 3, P.WHOAMI]);
    const anon = await c.call(TEST_PROG, 3, P.WHOAMI, undefined, { auth: null });
    expect([anon.u32(), anon.u32()]).toEqual([AUTH_NONE, 0xffffffff]);
  });

  it('answers PROG_UNAVAIL for an unregistered program', async () => {
    const e = await rejection(client.call(100227, 3, 0));
    expect([e.kind, e.stat]).toEqual(['accepted', PROG_UNAVAIL]);
  });

  it('answers PROG_MISMATCH with the lowest and highest registered versions', async () => {
    const e = await rejection(client.call(TEST_PROG, 2, 0));
    expect([e.kind, e.stat, e.low, e.high]).toEqual(['accepted', PROG_MISMATCH, 1, 3]);
  });

  it('answers PROC_UNAVAIL for an unknown procedure', async () => {
    const e = await rejection(client.call(TEST_PROG, 1, 5));
    expect([e.kind, e.stat]).toEqual(['accepted', PROC_UNAVAIL]);
  });

  it('answers GARBAGE_ARGS when a handler hits an XdrError, discarding its partial results', async () => {
    expect((await rejection(client.call(TEST_PROG, 3, P.ADD, u32s(1)))).stat).toBe(GARBAGE_ARGS);
    expect((await rejection(client.call(TEST_PROG, 3, P.ASYNC_XDR_ERROR))).stat).toBe(GARBAGE_ARGS);
    const xid = client.nextXid();
    const raw = await client.callRawRecord(callBody({ xid, prog: TEST_PROG, vers: 3, proc: P.XDR_ERROR }));
    expect(parseReply(raw)).toEqual({ xid, kind: 'accepted', stat: GARBAGE_ARGS, verfFlavor: AUTH_NONE, bodyStart: 24 });
    expect(raw.length).toBe(24);
  });

  it('answers SYSTEM_ERR when a handler throws, and logs the error', async () => {
    const before = lines.length;
    expect((await rejection(client.call(TEST_PROG, 3, P.THROW))).stat).toBe(SYSTEM_ERR);
    expect((await rejection(client.call(TEST_PROG, 3, P.ASYNC_THROW))).stat).toBe(SYSTEM_ERR);
    const errors = lines.slice(before).filter((l) => l.level === 50);
    expect(errors).toHaveLength(2);
    expect(JSON.stringify(errors[0])).toContain('handler exploded');
    expect(errors[1].proc).toBe(`proc${P.ASYNC_THROW}`);
  });

  it('denies rpcvers other than 2 with RPC_MISMATCH(2, 2)', async () => {
    const xid = client.nextXid();
    const reply = parseReply(await client.callRawRecord(callBody({ xid, rpcvers: 3, prog: TEST_PROG, vers: 3, proc: 0 })));
    expect(reply).toEqual({ xid, kind: 'denied', stat: RPC_MISMATCH, low: 2, high: 2 });
  });

  it('denies RPCSEC_GSS (flavor 6) with AUTH_ERROR', async () => {
    const xid = client.nextXid();
    const body = callBody({ xid, prog: TEST_PROG, vers: 3, proc: 0, credFlavor: RPCSEC_GSS, credBody: Buffer.alloc(20) });
    expect(parseReply(await client.callRawRecord(body))).toEqual({ xid, kind: 'denied', stat: AUTH_ERROR, authStat: AUTH_BADCRED });
  });

  it('denies AUTH_SHORT with AUTH_REJECTEDCRED so the client falls back to AUTH_SYS', async () => {
    const xid = client.nextXid();
    const body = callBody({ xid, prog: TEST_PROG, vers: 3, proc: 0, credFlavor: AUTH_SHORT, credBody: Buffer.alloc(8) });
    expect(parseReply(await client.callRawRecord(body))).toMatchObject({ kind: 'denied', stat: AUTH_ERROR, authStat: AUTH_REJECTEDCRED });
  });

  it('denies a malformed AUTH_SYS body with AUTH_BADCRED, checking credentials before the program', async () => {
    const bad = new XdrWriter().u32(0).string('m').u32(0).u32(0).u32(17).toBuffer();
    for (const prog of [TEST_PROG, 100227]) {
      const xid = client.nextXid();
      const reply = parseReply(await client.callRawRecord(callBody({ xid, prog, vers: 3, proc: 0, credBody: bad })));
      expect(reply).toMatchObject({ xid, kind: 'denied', stat: AUTH_ERROR, authStat: AUTH_BADCRED });
    }
  });

  it('still answers normally on the same connection after all those errors', async () => {
    expect((await client.call(TEST_PROG, 3, P.ADD, u32s(1, 2))).u32()).toBe(3);
    const xid = client.nextXid();
    expect(parseReply(await client.callRawRecord(callBody({ xid, prog: TEST_PROG, vers: 1, proc: 0 })))).toMatchObject({
      xid,
      stat: SUCCESS,
    });
  });
});
