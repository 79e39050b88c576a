// ONC RPC client over TCP (RFC 5531) for tests and tools. Many calls may be in flight;
// replies are matched to calls by xid (§8).
import net from 'node:net';
import { encodeAuthSys } from './auth.js';
import { AUTH_NONE, AUTH_SYS, CALL, RPC_VERSION, SUCCESS, parseReply } from './message.js';
import { OutboundQueue } from './outbound.js';
import { DEFAULT_MAX_RECORD_SIZE, RecordDecoder } from './record-marking.js';
import type { AuthSys } from './handler.js';
import { XdrReader, XdrWriter } from './xdr.js';

/** A call that was answered with something other than accepted SUCCESS. */
export class RpcError extends Error {
  /**
   * kind 'accepted': `stat` is the accept_stat (PROG_UNAVAIL, PROG_MISMATCH, ...).
   * kind 'denied': `stat` is the reject_stat (RPC_MISMATCH or AUTH_ERROR), `authStat` the auth_stat.
   * `low`/`high` are set for PROG_MISMATCH and RPC_MISMATCH.
   */
  constructor(
    readonly kind: 'denied' | 'accepted',
    readonly stat: number,
    readonly xid: number,
    readonly low?: number,
    readonly high?: number,
    readonly authStat?: number,
  ) {
    super(describe(kind, stat, low, high, authStat));
    this.name = 'RpcError';
  }
}

function describe(kind: string, stat: number, low?: number, high?: number, authStat?: number): string {
  const range = low !== undefined ? ` (versions ${low}..${high})` : '';
  const auth = authStat !== undefined ? ` (auth_stat ${authStat})` : '';
  return `RPC call ${kind} with stat ${stat}${range}${auth}`;
}

export class RpcTimeoutError extends Error {
  constructor(
    readonly xid: number,
    timeoutMs: number,
  ) {
    super(`no RPC reply for xid ${xid} within ${timeoutMs} ms`);
    this.name = 'RpcTimeoutError';
  }
}

export class RpcClosedError extends Error {
  constructor() {
    super('RPC connection closed');
    this.name = 'RpcClosedError';
  }
}

export interface RpcClientOptions {
  /** default credential for calls (default AUTH_SYS uid 0, gid 0, machine 'test'); null for AUTH_NONE */
  auth?: AuthSys | null;
  /** default per-call timeout in ms; 0 (the default) waits forever */
  timeoutMs?: number;
  maxRecordSize?: number;
  /** local address to connect from (e.g. 127.0.0.2, to test address-based rules on loopback) */
  localAddress?: string;
  /** local port to connect from (e.g. below 1024, to test the privileged-port rule) */
  localPort?: number;
  /** the first call's xid minus one (default random) */
  xidBase?: number;
}

export interface CallOptions {
  /** credential for this call; null for AUTH_NONE */
  auth?: AuthSys | null;
  timeoutMs?: number;
}

export const DEFAULT_CLIENT_AUTH: AuthSys = Object.freeze({ stamp: 0, machine: 'test', uid: 0, gid: 0, gids: [] });

interface Waiter {
  /** receives the whole reply record */
  onReply: (rec: Buffer) => void;
  onError: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

const LAST_FRAGMENT = 0x80000000;
const EMPTY = Buffer.alloc(0);
/** unanswered replies kept for waitForReply (replies that arrived before anyone waited) */
const MAX_UNCLAIMED = 1024;

export class RpcClient {
  private readonly decoder: RecordDecoder;
  private readonly out: OutboundQueue;
  private readonly waiters = new Map<number, Waiter>();
  private readonly unclaimed = new Map<number, Buffer>();
  private readonly defaultAuth: AuthSys | null;
  private readonly defaultTimeout: number;
  private readonly credCache = new WeakMap<AuthSys, Buffer>();
  private xid = (Math.random() * 0x100000000) >>> 0;
  private isClosed = false;
  private closedPromise: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    opts: RpcClientOptions,
  ) {
    this.defaultAuth = opts.auth === undefined ? DEFAULT_CLIENT_AUTH : opts.auth;
    this.defaultTimeout = opts.timeoutMs ?? 0;
    if (opts.xidBase !== undefined) this.xid = opts.xidBase >>> 0;
    this.decoder = new RecordDecoder(this.onRecord, { maxRecordSize: opts.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE * 2 });
    this.out = new OutboundQueue(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on('error', () => {
      /* reported to callers through 'close' */
    });
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.failAll(new RpcClosedError());
        resolve();
      }),
    );
  }

  static connect(host: string, port: number, opts: RpcClientOptions = {}): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true, localAddress: opts.localAddress, localPort: opts.localPort });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RpcClient(socket, opts));
      });
    });
  }

  get closed(): boolean {
    return this.isClosed || this.socket.destroyed;
  }

  /** Bytes read from and written to the connection so far. */
  get wireBytes(): { read: number; written: number } {
    return { read: this.socket.bytesRead, written: this.socket.bytesWritten };
  }

  /** Calls waiting for a reply. */
  get pending(): number {
    return this.waiters.size;
  }

  /** A fresh xid for a hand-made call. */
  nextXid(): number {
    this.xid = (this.xid + 1) >>> 0;
    return this.xid;
  }

  /**
   * Calls a procedure. Resolves with a reader positioned at the results of an accepted
   * SUCCESS reply; rejects with RpcError for any other reply, RpcTimeoutError or RpcClosedError.
   */
  call(prog: number, vers: number, proc: number, args: Buffer | Buffer[] | XdrWriter = EMPTY, opts?: CallOptions): Promise<XdrReader> {
    const xid = this.nextXid();
    const auth = opts?.auth === undefined ? this.defaultAuth : opts.auth;
    const cred = auth === null ? EMPTY : this.credential(auth);
    const argChunks = Buffer.isBuffer(args) ? (args.length ? [args] : []) : Array.isArray(args) ? args : args.chunks();
    let argBytes = 0;
    for (const c of argChunks) argBytes += c.length;

    const h = new XdrWriter(48 + cred.length + (argBytes < 1024 ? argBytes : 0));
    h.u32(0).u32(xid).u32(CALL).u32(RPC_VERSION).u32(prog).u32(vers).u32(proc);
    h.u32(auth === null ? AUTH_NONE : AUTH_SYS).opaque(cred);
    h.u32(AUTH_NONE).u32(0);
    const small = argBytes < 1024;
    if (small) for (const c of argChunks) h.fixed(c);
    const head = h.toBuffer();
    head.writeUInt32BE((LAST_FRAGMENT | (head.length - 4 + (small ? 0 : argBytes))) >>> 0, 0);

    const p = new Promise<XdrReader>((resolve, reject) => {
      this.addWaiter(
        xid,
        opts?.timeoutMs ?? this.defaultTimeout,
        (rec) => {
          try {
            const r = parseReply(rec);
            if (r.kind === 'accepted' && r.stat === SUCCESS) resolve(new XdrReader(rec, r.bodyStart));
            else reject(new RpcError(r.kind, r.stat, xid, r.low, r.high, r.kind === 'denied' ? r.authStat : undefined));
          } catch (err) {
            reject(err as Error);
          }
        },
        reject,
      );
    });
    if (small) this.out.push(head);
    else {
      this.out.push(head);
      this.out.pushAll(argChunks);
    }
    return p;
  }

  /** Writes arbitrary bytes to the connection (no framing). */
  sendRaw(bytes: Buffer): void {
    if (this.closed) throw new RpcClosedError();
    this.out.push(bytes);
  }

  /** Resolves with the next reply record carrying `xid` (one that already arrived unclaimed counts). */
  waitForReply(xid: number, timeoutMs = this.defaultTimeout): Promise<Buffer> {
    const early = this.unclaimed.get(xid);
    if (early !== undefined) {
      this.unclaimed.delete(xid);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => this.addWaiter(xid, timeoutMs, resolve, reject));
  }

  /**
   * Sends `body` (a complete hand-made RPC message, xid first) as one record and resolves
   * with the raw reply record for that xid.
   */
  callRawRecord(body: Buffer, opts: { timeoutMs?: number } = {}): Promise<Buffer> {
    if (body.length < 4) return Promise.reject(new RangeError('record too short to hold an xid'));
    const xid = body.readUInt32BE(0);
    const p = this.waitForReply(xid, opts.timeoutMs ?? this.defaultTimeout);
    const mark = Buffer.allocUnsafe(4);
    mark.writeUInt32BE((LAST_FRAGMENT | body.length) >>> 0, 0);
    this.sendRaw(Buffer.concat([mark, body]));
    return p;
  }

  /** Ends the connection; calls still waiting are rejected with RpcClosedError. */
  close(): Promise<void> {
    this.out.flush();
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
    return this.closedPromise.finally(() => clearTimeout(t));
  }

  /** Drops the connection at once (like a reset). */
  destroy(): void {
    this.socket.destroy();
  }

  private credential(auth: AuthSys): Buffer {
    let c = this.credCache.get(auth);
    if (c === undefined) {
      c = encodeAuthSys(auth);
      this.credCache.set(auth, c);
    }
    return c;
  }

  private addWaiter(xid: number, timeoutMs: number, onReply: (rec: Buffer) => void, onError: (err: Error) => void): void {
    if (this.closed) {
      onError(new RpcClosedError());
      return;
    }
    if (this.waiters.has(xid)) {
      onError(new Error(`xid ${xid} already awaits a reply`));
      return;
    }
    const w: Waiter = { onReply, onError, timer: null };
    if (timeoutMs > 0) {
      w.timer = setTimeout(() => {
        if (this.waiters.get(xid) === w) this.waiters.delete(xid);
        onError(new RpcTimeoutError(xid, timeoutMs));
      }, timeoutMs);
    }
    this.waiters.set(xid, w);
  }

  private onRecord = (rec: Buffer): void => {
    if (rec.length < 8) return;
    const xid = rec.readUInt32BE(0);
    const w = this.waiters.get(xid);
    if (w === undefined) {
      if (this.unclaimed.size >= MAX_UNCLAIMED) this.unclaimed.delete(this.unclaimed.keys().next().value!);
      this.unclaimed.set(xid, rec);
      return;
    }
    this.waiters.delete(xid);
    if (w.timer !== null) clearTimeout(w.timer);
    w.onReply(rec);
  };

  private failAll(err: Error): void {
    const ws = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of ws) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.onError(err);
    }
  }
}
