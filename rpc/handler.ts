// What a program's procedures see of an RPC call (RFC 5531).
import type { XdrReader, XdrWriter } from './xdr.js';

/** AUTH_SYS credentials (RFC 5531 appendix A); AUTH_NONE calls get null. */
export interface AuthSys {
  stamp: number;
  machine: string;
  uid: number;
  gid: number;
  gids: number[];
}

export interface RpcContext {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  flavor: number;
  auth: AuthSys | null;
  remoteAddress: string;
  remotePort: number;
}

/**
 * Decodes its arguments from `args`, does the work and encodes its result into `out`,
 * which already holds the accepted-SUCCESS reply header. Throwing XdrError gives
 * GARBAGE_ARGS; any other throw gives SYSTEM_ERR (and is logged).
 */
export type Handler = (args: XdrReader, out: XdrWriter, ctx: RpcContext) => void | Promise<void>;

export interface Procedure {
  name: string;
  handler: Handler;
  /** Non-idempotent procedures have their replies kept in the duplicate-request cache. */
  idempotent: boolean;
}

export interface ProgramVersion {
  prog: number;
  vers: number;
  procs: Map<number, Procedure>;
}
