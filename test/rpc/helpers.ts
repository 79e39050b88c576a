// Shared fixtures for the RPC tests: a test program, loggers and hand-made calls.
import { pino, type Logger } from 'pino';
import { encodeAuthSys } from '../../rpc/auth.js';
import { AUTH_SYS, writeCallHeader, type CallHeaderFields } from '../../rpc/message.js';
import { RpcServer, type RpcServerOptions } from '../../rpc/server.js';
import { RpcClient, DEFAULT_CLIENT_AUTH } from '../../rpc/client.js';
import type { Handler, Procedure, ProgramVersion } from '../../rpc/handler.js';
import { XdrWriter } from '../../rpc/xdr.js';

export const TEST_PROG = 0x20000101;

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A logger whose JSON lines are collected in `lines`. */
export function captureLogger(level = 'debug'): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

export function program(prog: number, vers: number, procs: Record<number, Handler | Procedure>): ProgramVersion {
  const m = new Map<number, Procedure>();
  for (const [k, v] of Object.entries(procs)) {
    m.set(Number(k), typeof v === 'function' ? { name: `proc${k}`, handler: v, idempotent: true } : v);
  }
  return { prog, vers, procs: m };
}

export interface Started {
  server: RpcServer;
  port: number;
  clients: RpcClient[];
  connect(opts?: Parameters<typeof RpcClient.connect>[2]): Promise<RpcClient>;
  stop(): Promise<void>;
}

export async function start(programs: ProgramVersion[], opts: Partial<RpcServerOptions> = {}): Promise<Started> {
  const server = new RpcServer({ logger: silentLogger(), ...opts });
  for (const p of programs) server.register(p);
  const port = await server.listen(0, '127.0.0.1');
  const clients: RpcClient[] = [];
  return {
    server,
    port,
    clients,
    async connect(o) {
      const c = await RpcClient.connect('127.0.0.1', port, o);
      clients.push(c);
      return c;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

/** A complete call message (no record mark) with AUTH_SYS credentials by default. */
export function callBody(f: Partial<CallHeaderFields> & { xid: number; prog: number; vers: number; proc: number }, args?: Buffer): Buffer {
  const w = new XdrWriter();
  writeCallHeader(w, { credFlavor: AUTH_SYS, credBody: encodeAuthSys(DEFAULT_CLIENT_AUTH), ...f });
  const head = w.toBuffer();
  return args ? Buffer.concat([head, args]) : head;
}

export function u32s(...vs: number[]): Buffer {
  const w = new XdrWriter();
  for (const v of vs) w.u32(v);
  return w.toBuffer();
}

/** Frames a body as one record (last fragment). */
export function framed(body: Buffer): Buffer {
  const m = Buffer.alloc(4);
  m.writeUInt32BE((0x80000000 | body.length) >>> 0, 0);
  return Buffer.concat([m, body]);
}

/** Procedure numbers of the test program (versions 1 and 3 are registered). */
export const P = {
  NULL: 0,
  ECHO: 1, // opaque in, same opaque out (large ones by reference)
  ADD: 2, // two u32 in, their sum out
  XDR_ERROR: 3, // writes a result, then reads past its arguments
  THROW: 4, // writes a result, then throws
  SLOW: 5, // u32 ms, u32 tag in; waits, then returns tag
  WHOAMI: 6, // returns flavor, uid, gid, machine, gids, remote address
  ASYNC_XDR_ERROR: 7,
  ASYNC_THROW: 8,
  BIG: 9, // u32 n in: async, returns n bytes by reference
} as const;

export function testPrograms(): ProgramVersion[] {
  const procs: Record<number, Handler> = {
    [P.NULL]: () => {},
    [P.ECHO]: (a, o) => void o.opaqueRef(a.opaque()),
    [P.ADD]: (a, o) => void o.u32(a.u32() + a.u32()),
    [P.XDR_ERROR]: (a, o) => {
      o.u32(123);
      a.u32();
    },
    [P.THROW]: (_a, o) => {
      o.u32(123);
      throw new Error('handler exploded');
    },
    [P.SLOW]: async (a, o) => {
      const ms = a.u32();
      const tag = a.u32();
      await delay(ms);
      o.u32(tag);
    },
    [P.WHOAMI]: (_a, o, ctx) => {
      o.u32(ctx.flavor)
        .u32(ctx.auth?.uid ?? 0xffffffff)
        .u32(ctx.auth?.gid ?? 0xffffffff)
        .string(ctx.auth?.machine ?? '');
      o.u32(ctx.auth?.gids.length ?? 0);
      for (const g of ctx.auth?.gids ?? []) o.u32(g);
      o.string(ctx.remoteAddress).u32(ctx.xid).u32(ctx.prog).u32(ctx.vers).u32(ctx.proc);
    },
    [P.ASYNC_XDR_ERROR]: async (a, o) => {
      await delay(1);
      o.opaqueRef(Buffer.alloc(8192));
      a.u32();
    },
    [P.ASYNC_THROW]: async () => {
      await delay(1);
      throw new Error('async handler exploded');
    },
    [P.BIG]: async (a, o) => {
      const n = a.u32();
      await new Promise((r) => setImmediate(r));
      o.opaqueRef(Buffer.alloc(n, 0x5a));
    },
  };
  return [program(TEST_PROG, 1, { 0: () => {} }), program(TEST_PROG, 3, procs)];
}
