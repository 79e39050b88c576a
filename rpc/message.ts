// RPC message protocol constants and headers (RFC 5531 §8, §9).
import { XdrError, XdrReader, type XdrWriter } from './xdr.js';

/** rpcvers this implementation speaks (RFC 5531 §9). */
export const RPC_VERSION = 2;

// msg_type (§9)
export const CALL = 0;
export const REPLY = 1;

// reply_stat (§9)
export const MSG_ACCEPTED = 0;
export const MSG_DENIED = 1;

// accept_stat (§9)
export const SUCCESS = 0;
export const PROG_UNAVAIL = 1;
export const PROG_MISMATCH = 2;
export const PROC_UNAVAIL = 3;
export const GARBAGE_ARGS = 4;
export const SYSTEM_ERR = 5;

// reject_stat (§9)
export const RPC_MISMATCH = 0;
export const AUTH_ERROR = 1;

// auth_stat (§9)
export const AUTH_OK = 0;
export const AUTH_BADCRED = 1;
export const AUTH_REJECTEDCRED = 2;
export const AUTH_BADVERF = 3;
export const AUTH_REJECTEDVERF = 4;
export const AUTH_TOOWEAK = 5;
export const AUTH_INVALIDRESP = 6;
export const AUTH_FAILED = 7;

// auth_flavor (§8.2)
export const AUTH_NONE = 0;
export const AUTH_SYS = 1;
export const AUTH_SHORT = 2;
export const AUTH_DH = 3;
export const RPCSEC_GSS = 6;

/** Upper bound of an opaque_auth body (§8.2). */
export const MAX_AUTH_BYTES = 400;

export const MsgType = { CALL, REPLY } as const;
export const ReplyStat = { MSG_ACCEPTED, MSG_DENIED } as const;
export const AcceptStat = { SUCCESS, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR } as const;
export const RejectStat = { RPC_MISMATCH, AUTH_ERROR } as const;
export const AuthStat = {
  AUTH_OK,
  AUTH_BADCRED,
  AUTH_REJECTEDCRED,
  AUTH_BADVERF,
  AUTH_REJECTEDVERF,
  AUTH_TOOWEAK,
  AUTH_INVALIDRESP,
  AUTH_FAILED,
} as const;
export const AuthFlavor = { AUTH_NONE, AUTH_SYS, AUTH_SHORT, AUTH_DH, RPCSEC_GSS } as const;

/** Fields of a call header (§9 call_body), filled in place to keep the hot path allocation-free. */
export class CallHeader {
  xid = 0;
  rpcvers = 0;
  prog = 0;
  vers = 0;
  proc = 0;
  credFlavor = 0;
  credStart = 0;
  credLen = 0;
  verfFlavor = 0;
  verfStart = 0;
  verfLen = 0;
  /** offset of the procedure arguments in the record */
  bodyStart = 0;
}

// What parseCallHeader found.
/** A well-formed call header. */
export const CALL_OK = 0;
/** No xid, or not a CALL: nothing may be sent back. */
export const CALL_DROP = 1;
/** rpcvers is not 2: reply MSG_DENIED RPC_MISMATCH. */
export const CALL_BAD_RPCVERS = 2;
/** xid readable but the header is truncated or malformed: reply GARBAGE_ARGS. */
export const CALL_GARBAGE = 3;
/** credential body longer than 400 bytes: reply AUTH_ERROR AUTH_BADCRED. */
export const CALL_BAD_CRED = 4;
/** verifier body longer than 400 bytes: reply AUTH_ERROR AUTH_BADVERF. */
export const CALL_BAD_VERF = 5;

const pad4 = (n: number): number => (n + 3) & ~3;

/** Parses the call header (§9) of `rec` into `h`, reading fields straight from the buffer. */
export function parseCallHeader(rec: Buffer, h: CallHeader): number {
  const end = rec.length;
  if (end < 8) return CALL_DROP;
  h.xid = rec.readUInt32BE(0);
  if (rec.readUInt32BE(4) !== CALL) return CALL_DROP;
  if (end < 12) return CALL_GARBAGE;
  h.rpcvers = rec.readUInt32BE(8);
  if (h.rpcvers !== RPC_VERSION) return CALL_BAD_RPCVERS;
  if (end < 32) return CALL_GARBAGE;
  h.prog = rec.readUInt32BE(12);
  h.vers = rec.readUInt32BE(16);
  h.proc = rec.readUInt32BE(20);
  h.credFlavor = rec.readUInt32BE(24);
  const credLen = rec.readUInt32BE(28);
  if (credLen > MAX_AUTH_BYTES) return CALL_BAD_CRED;
  h.credStart = 32;
  h.credLen = credLen;
  let p = 32 + pad4(credLen);
  if (p + 8 > end) return CALL_GARBAGE;
  h.verfFlavor = rec.readUInt32BE(p);
  const verfLen = rec.readUInt32BE(p + 4);
  if (verfLen > MAX_AUTH_BYTES) return CALL_BAD_VERF;
  h.verfStart = p + 8;
  h.verfLen = verfLen;
  p += 8 + pad4(verfLen);
  if (p > end) return CALL_GARBAGE;
  h.bodyStart = p;
  return CALL_OK;
}

/** Fields for writeCallHeader; defaults give an AUTH_NONE call with rpcvers 2. */
export interface CallHeaderFields {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  rpcvers?: number;
  credFlavor?: number;
  credBody?: Buffer;
  verfFlavor?: number;
  verfBody?: Buffer;
}

/** Writes a call header (§9 rpc_msg with call_body); the arguments follow it. */
export function writeCallHeader(w: XdrWriter, f: CallHeaderFields): XdrWriter {
  w.u32(f.xid)
    .u32(CALL)
    .u32(f.rpcvers ?? RPC_VERSION)
    .u32(f.prog)
    .u32(f.vers)
    .u32(f.proc);
  w.u32(f.credFlavor ?? AUTH_NONE).opaque(f.credBody ?? EMPTY);
  w.u32(f.verfFlavor ?? AUTH_NONE).opaque(f.verfBody ?? EMPTY);
  return w;
}

const EMPTY = Buffer.alloc(0);

/** xid, REPLY, MSG_ACCEPTED, an AUTH_NONE verifier and accept_stat (§9 accepted_reply). */
export function writeAcceptedHeader(w: XdrWriter, xid: number, stat: number): void {
  w.u32(xid);
  w.u32(REPLY);
  w.u32(MSG_ACCEPTED);
  w.u32(AUTH_NONE);
  w.u32(0);
  w.u32(stat);
}

/** Accepted PROG_MISMATCH with the lowest and highest versions supported (§9). */
export function writeProgMismatch(w: XdrWriter, xid: number, low: number, high: number): void {
  writeAcceptedHeader(w, xid, PROG_MISMATCH);
  w.u32(low);
  w.u32(high);
}

/** Denied RPC_MISMATCH: this server speaks rpcvers 2 only (§9 rejected_reply). */
export function writeRpcMismatch(w: XdrWriter, xid: number): void {
  w.u32(xid).u32(REPLY).u32(MSG_DENIED).u32(RPC_MISMATCH).u32(RPC_VERSION).u32(RPC_VERSION);
}

/** Denied AUTH_ERROR with the reason (§9 rejected_reply). */
export function writeAuthError(w: XdrWriter, xid: number, authStat: number): void {
  w.u32(xid).u32(REPLY).u32(MSG_DENIED).u32(AUTH_ERROR).u32(authStat);
}

/** A decoded reply header (§9 reply_body). */
export type ReplyHeader =
  | {
      xid: number;
      kind: 'accepted';
      /** accept_stat */
      stat: number;
      verfFlavor: number;
      /** PROG_MISMATCH only */
      low?: number;
      high?: number;
      /** offset of the procedure results (SUCCESS) in the record */
      bodyStart: number;
    }
  | {
      xid: number;
      kind: 'denied';
      /** reject_stat */
      stat: number;
      /** RPC_MISMATCH only */
      low?: number;
      high?: number;
      /** AUTH_ERROR only */
      authStat?: number;
    };

/** Parses a reply record; throws XdrError if it is not a well-formed reply. */
export function parseReply(rec: Buffer): ReplyHeader {
  const r = new XdrReader(rec);
  const xid = r.u32();
  const mtype = r.u32();
  if (mtype !== REPLY) throw new XdrError(`not a reply: msg_type ${mtype}`);
  const replyStat = r.u32();
  if (replyStat === MSG_ACCEPTED) {
    const verfFlavor = r.u32();
    r.opaque(MAX_AUTH_BYTES);
    const stat = r.u32();
    if (stat === PROG_MISMATCH) {
      const low = r.u32();
      const high = r.u32();
      return { xid, kind: 'accepted', stat, verfFlavor, low, high, bodyStart: r.pos };
    }
    return { xid, kind: 'accepted', stat, verfFlavor, bodyStart: r.pos };
  }
  if (replyStat === MSG_DENIED) {
    const stat = r.u32();
    if (stat === RPC_MISMATCH) {
      const low = r.u32();
      const high = r.u32();
      return { xid, kind: 'denied', stat, low, high };
    }
    if (stat === AUTH_ERROR) return { xid, kind: 'denied', stat, authStat: r.u32() };
    throw new XdrError(`bad reject_stat ${stat}`);
  }
  throw new XdrError(`bad reply_stat ${replyStat}`);
}
