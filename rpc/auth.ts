// Credentials: AUTH_NONE (RFC 5531 §10) and AUTH_SYS (RFC 5531 appendix A).
// Replies always carry an AUTH_NONE verifier (see message.ts writeAcceptedHeader).
import type { AuthSys } from './handler.js';
import { XdrError, XdrReader, XdrWriter } from './xdr.js';
import { AUTH_BADCRED, AUTH_NONE, AUTH_REJECTEDCRED, AUTH_SHORT, AUTH_SYS } from './message.js';

/** machinename<255> (appendix A) */
export const MAX_MACHINE_NAME = 255;
/** gids<16> (appendix A) */
export const MAX_GIDS = 16;

/** Decodes an authsys_parms body; throws XdrError if it is malformed or has trailing bytes. */
export function parseAuthSys(buf: Buffer, start: number, len: number): AuthSys {
  const r = new XdrReader(buf, start, start + len);
  const stamp = r.u32();
  const machine = r.string(MAX_MACHINE_NAME);
  const uid = r.u32();
  const gid = r.u32();
  const n = r.u32();
  if (n > MAX_GIDS) throw new XdrError(`AUTH_SYS: ${n} gids exceeds ${MAX_GIDS}`);
  const gids: number[] = new Array(n);
  for (let i = 0; i < n; i++) gids[i] = r.u32();
  if (r.remaining !== 0) throw new XdrError(`AUTH_SYS: ${r.remaining} trailing bytes`);
  return { stamp, machine, uid, gid, gids };
}

/** Encodes an authsys_parms body (the credential's opaque contents). */
export function encodeAuthSys(a: AuthSys): Buffer {
  if (a.gids.length > MAX_GIDS) throw new RangeError(`AUTH_SYS: at most ${MAX_GIDS} gids`);
  const name = Buffer.from(a.machine, 'utf8');
  if (name.length > MAX_MACHINE_NAME) throw new RangeError(`AUTH_SYS: machine name over ${MAX_MACHINE_NAME} bytes`);
  const w = new XdrWriter(64);
  w.u32(a.stamp).opaque(name).u32(a.uid).u32(a.gid).u32(a.gids.length);
  for (const g of a.gids) w.u32(g);
  return w.toBuffer();
}

/**
 * The auth_stat for a credential flavor this server does not accept. AUTH_SHORT gets
 * AUTH_REJECTEDCRED, which tells the client to fall back to full AUTH_SYS credentials
 * (appendix A); anything else (AUTH_DH, RPCSEC_GSS, unknown) gets AUTH_BADCRED.
 */
export function rejectFlavor(flavor: number): number {
  return flavor === AUTH_SHORT ? AUTH_REJECTEDCRED : AUTH_BADCRED;
}

/**
 * Checks a call's credential. Returns the AuthSys (AUTH_SYS), null (AUTH_NONE) or, on
 * failure, the auth_stat number to reply with in a denied AUTH_ERROR.
 */
export function authenticate(flavor: number, buf: Buffer, start: number, len: number): AuthSys | null | number {
  if (flavor === AUTH_SYS) {
    try {
      return parseAuthSys(buf, start, len);
    } catch {
      return AUTH_BADCRED;
    }
  }
  if (flavor === AUTH_NONE) return null;
  return rejectFlavor(flavor);
}

/**
 * Remembers the last AUTH_SYS credential seen on a connection: a client sends the same
 * bytes call after call, so most calls skip decoding. Results are frozen since they are shared.
 */
export class AuthSysCache {
  private lastBytes: Buffer | null = null;
  private lastAuth: AuthSys | null = null;

  get(buf: Buffer, start: number, len: number): AuthSys | number {
    const last = this.lastBytes;
    if (last !== null && last.length === len && last.compare(buf, start, start + len) === 0) return this.lastAuth!;
    let auth: AuthSys;
    try {
      auth = parseAuthSys(buf, start, len);
    } catch {
      return AUTH_BADCRED;
    }
    Object.freeze(auth.gids);
    Object.freeze(auth);
    this.lastBytes = Buffer.from(buf.subarray(start, start + len));
    this.lastAuth = auth;
    return auth;
  }
}
