// Turns one call record into one reply (or none): header checks (RFC 5531 §9), credential
// checks (§9 auth_stat, appendix A), program lookup, the duplicate-request cache and the handler.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AuthSysCache } from './auth.js';
import { rejectFlavor } from './auth.js';
import type { DuplicateRequestCache } from './drc.js';
import type { RpcObserver } from './observer.js';
import {
  AUTH_BADCRED,
  AUTH_BADVERF,
  AUTH_NONE,
  AUTH_SYS,
  CALL_BAD_CRED,
  CALL_BAD_RPCVERS,
  CALL_BAD_VERF,
  CALL_GARBAGE,
  CALL_OK,
  CallHeader,
  GARBAGE_ARGS,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  SUCCESS,
  SYSTEM_ERR,
  parseCallHeader,
  writeAcceptedHeader,
  writeAuthError,
  writeProgMismatch,
  writeRpcMismatch,
} from './message.js';
import { RegistryMiss, type ProgramRegistry } from './registry.js';
import type { AuthSys, Procedure, RpcContext } from './handler.js';
import { XdrError, XdrReader, XdrWriter } from './xdr.js';
import { inMemory, releaseAll, type ReplyPart } from './file-slice.js';

/** What the dispatcher needs of a connection. */
export interface CallSource {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly closed: boolean;
  readonly authCache: AuthSysCache;
  readonly log: Logger;
  /** non-zero: deny every call but NULL with this auth_stat (decided once per connection) */
  readonly denyCalls?: number;
  /** Queues a framed reply (record mark included) for writing; a FileSlice can only be its last part. */
  send(chunks: ReplyPart[], onSent?: () => void): void;
  sendOne(buf: Buffer): void;
  /** An asynchronous handler started / settled (flow control counts these). */
  asyncStarted(): void;
  asyncFinished(): void;
}

const LAST_FRAGMENT = 0x80000000;
/** Initial reply buffer: enough for most metadata replies without growing. */
const REPLY_BUFFER_SIZE = 256;

export class Dispatcher {
  /** Scratch header; only read synchronously before any await. */
  private readonly hdr = new CallHeader();

  constructor(
    private readonly registry: ProgramRegistry,
    private readonly drc: DuplicateRequestCache | null,
    private readonly log: Logger,
    private readonly observer: RpcObserver | null = null,
  ) {}

  /** `done` runs once the record is no longer needed (the handler has finished). */
  dispatch(rec: Buffer, src: CallSource, done?: () => void): void {
    const running = this.run(rec, src);
    if (done) {
      if (running) running.then(done, done);
      else done();
    }
  }

  private run(rec: Buffer, src: CallSource): Promise<void> | undefined {
    const h = this.hdr;
    const parsed = parseCallHeader(rec, h);
    if (parsed !== CALL_OK) {
      this.badHeader(parsed, rec, h, src);
      return undefined;
    }
    const xid = h.xid;
    if (src.denyCalls && h.proc !== 0) {
      this.sendSmall(src, (w) => writeAuthError(w, xid, src.denyCalls!));
      return undefined;
    }

    let auth: AuthSys | null = null;
    if (h.credFlavor === AUTH_SYS) {
      const a = src.authCache.get(rec, h.credStart, h.credLen);
      if (typeof a === 'number') {
        this.observer?.callRejected(h.prog, h.vers, h.proc, 'auth_error');
        this.sendSmall(src, (w) => writeAuthError(w, xid, a));
        return undefined;
      }
      auth = a;
    } else if (h.credFlavor !== AUTH_NONE) {
      const stat = rejectFlavor(h.credFlavor);
      if (src.log.isLevelEnabled('debug')) src.log.debug({ xid, flavor: h.credFlavor }, 'rpc: credential flavor rejected');
      this.observer?.callRejected(h.prog, h.vers, h.proc, 'auth_error');
      this.sendSmall(src, (w) => writeAuthError(w, xid, stat));
      return undefined;
    }

    const found = this.registry.lookup(h.prog, h.vers, h.proc);
    if (found instanceof RegistryMiss) {
      this.observer?.callRejected(
        h.prog,
        h.vers,
        h.proc,
        found.stat === PROG_MISMATCH ? 'prog_mismatch' : found.stat === PROG_UNAVAIL ? 'prog_unavail' : 'proc_unavail',
      );
      if (src.log.isLevelEnabled('debug')) {
        src.log.debug({ xid, prog: h.prog, vers: h.vers, proc: h.proc, stat: found.stat }, 'rpc: no such procedure');
      }
      this.sendSmall(src, (w) =>
        found.stat === PROG_MISMATCH ? writeProgMismatch(w, xid, found.low, found.high) : writeAcceptedHeader(w, xid, found.stat),
      );
      return undefined;
    }

    const obs = this.observer;
    const cached = !found.idempotent && this.drc !== null;
    // one clock read serves the metrics (call duration) and the duplicate-request cache (entry age)
    const t0 = obs !== null || cached ? performance.now() : 0;
    let drcTicket = -1;
    if (cached) {
      const seen = this.drc!.begin(src.remoteAddress, xid, h.prog, h.vers, h.proc, rec, h.bodyStart, t0);
      if (typeof seen === 'number') drcTicket = seen;
      else {
        this.observer?.drcHit(seen.state);
        if (seen.state === 'done' && seen.reply !== null) {
          if (src.log.isLevelEnabled('debug')) src.log.debug({ xid, proc: h.proc }, 'rpc: retransmission answered from the reply cache');
          src.sendOne(seen.reply);
        } else if (src.log.isLevelEnabled('debug')) {
          src.log.debug({ xid, proc: h.proc }, 'rpc: retransmission of a call in progress dropped');
        }
        return undefined;
      }
    }

    const out = new XdrWriter(REPLY_BUFFER_SIZE);
    out.u32(0); // record mark, patched in finish()
    writeAcceptedHeader(out, xid, SUCCESS);
    const ctx: RpcContext = {
      xid,
      prog: h.prog,
      vers: h.vers,
      proc: h.proc,
      flavor: h.credFlavor,
      auth,
      remoteAddress: src.remoteAddress,
      remotePort: src.remotePort,
    };
    const args = new XdrReader(rec, h.bodyStart);
    obs?.callStarted(ctx.prog, ctx.vers, ctx.proc, found.name);
    let result: void | Promise<void>;
    try {
      result = found.handler(args, out, ctx);
    } catch (err) {
      this.finish(src, this.failed(out, ctx, found, err), drcTicket, ctx, found, t0);
      return undefined;
    }
    if (result === undefined || typeof (result as Promise<void>).then !== 'function') {
      this.finish(src, out, drcTicket, ctx, found, t0);
      return undefined;
    }
    src.asyncStarted();
    return (result as Promise<void>).then(
      () => {
        src.asyncFinished();
        this.finish(src, out, drcTicket, ctx, found, t0);
      },
      (err: unknown) => {
        src.asyncFinished();
        this.finish(src, this.failed(out, ctx, found, err), drcTicket, ctx, found, t0);
      },
    );
  }

  /** Tells the observer how a call ended: accept_stat (word 6 after the mark) and the result's first word. */
  private observed(first: Buffer, length: number, ctx: RpcContext, proc: Procedure, t0: number): void {
    const stat = first.readUInt32BE(24);
    const result = stat === SUCCESS && length >= 32 && first.length >= 32 ? first.readUInt32BE(28) : -1;
    this.observer!.callDone(ctx.prog, ctx.vers, ctx.proc, proc.name, stat, result, (performance.now() - t0) / 1000);
  }

  /** Rewrites `out` as GARBAGE_ARGS (XdrError) or SYSTEM_ERR (anything else, logged). */
  private failed(out: XdrWriter, ctx: RpcContext, proc: Procedure, err: unknown): XdrWriter {
    let stat: number;
    if (err instanceof XdrError) {
      stat = GARBAGE_ARGS;
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ xid: ctx.xid, prog: ctx.prog, proc: proc.name, err: err.message }, 'rpc: garbage arguments');
      }
    } else {
      stat = SYSTEM_ERR;
      this.log.error({ err, xid: ctx.xid, prog: ctx.prog, vers: ctx.vers, proc: proc.name }, 'rpc: handler failed');
    }
    // the accept_stat is the last word of the header: 4 (mark) + 24 bytes
    try {
      out.truncate(24);
      out.u32(stat);
      return out;
    } catch {
      // the handler flushed a referenced chunk; start a fresh reply
      const w = new XdrWriter(64);
      w.u32(0);
      writeAcceptedHeader(w, ctx.xid, stat);
      return w;
    }
  }

  /** `drcTicket` >= 0: the call's duplicate-request cache entry, which keeps a copy of the reply. The observer
   *  (if any) is told of the call, which started at `t0`. */
  private finish(src: CallSource, out: XdrWriter, drcTicket: number, ctx: RpcContext, proc: Procedure, t0: number): void {
    let chunks = out.parts();
    const first = chunks[0] as Buffer; // the record mark and header: never a file slice
    if (this.observer !== null) this.observed(first, out.length, ctx, proc, t0);
    first.writeUInt32BE((LAST_FRAGMENT | (out.length - 4)) >>> 0, 0);
    const sent = out.releaseCallback();
    if (drcTicket >= 0 && this.drc !== null) {
      // the cache keeps bytes: a reply ending with a file's bytes is read into memory
      chunks = inMemory(chunks);
      this.drc.finish(drcTicket, chunks as Buffer[]);
    }
    if (!src.closed) {
      src.send(chunks, sent);
    } else {
      releaseAll(chunks);
      sent?.();
    }
    if (src.closed && src.log.isLevelEnabled('debug'))
      src.log.debug({ xid: first.readUInt32BE(4) }, 'rpc: reply dropped, connection closed');
  }

  private badHeader(parsed: number, rec: Buffer, h: CallHeader, src: CallSource): void {
    const xid = h.xid;
    if (parsed === CALL_BAD_RPCVERS || parsed === CALL_BAD_CRED || parsed === CALL_BAD_VERF || parsed === CALL_GARBAGE) {
      this.observer?.callRejected(
        h.prog,
        h.vers,
        h.proc,
        parsed === CALL_BAD_RPCVERS ? 'rpc_mismatch' : parsed === CALL_GARBAGE ? 'garbage_header' : 'auth_error',
      );
    }
    if (parsed === CALL_BAD_RPCVERS) {
      if (src.log.isLevelEnabled('debug')) src.log.debug({ xid, rpcvers: h.rpcvers }, 'rpc: RPC_MISMATCH');
      this.sendSmall(src, (w) => writeRpcMismatch(w, xid));
    } else if (parsed === CALL_BAD_CRED || parsed === CALL_BAD_VERF) {
      const stat = parsed === CALL_BAD_CRED ? AUTH_BADCRED : AUTH_BADVERF;
      this.sendSmall(src, (w) => writeAuthError(w, xid, stat));
    } else if (parsed === CALL_GARBAGE) {
      src.log.warn({ xid, bytes: rec.length }, 'rpc: malformed call header');
      this.sendSmall(src, (w) => writeAcceptedHeader(w, xid, GARBAGE_ARGS));
    } else {
      src.log.warn({ bytes: rec.length }, 'rpc: record is not a call, dropped');
    }
  }

  /** Builds and queues a small framed reply. */
  private sendSmall(src: CallSource, write: (w: XdrWriter) => void): void {
    if (src.closed) return;
    const w = new XdrWriter(64);
    w.u32(0);
    write(w);
    const buf = w.toBuffer();
    buf.writeUInt32BE((LAST_FRAGMENT | (buf.length - 4)) >>> 0, 0);
    src.sendOne(buf);
  }
}
