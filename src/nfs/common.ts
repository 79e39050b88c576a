// Shared pieces of the NFSv3 procedures (RFC 1813 section 3).
import type { Logger } from 'pino';
import type { Handler, RpcContext } from '../../rpc/handler.js';
import type { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { FsError, NfsStatus, type Attrs, type Cred, type ExportTable, type FileHandle, type FileSystem } from '../fs/file-system.js';
import { writePostOpAttr, writeWccAfter } from './xdr-types.js';

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;

/** What every procedure factory gets. */
export interface NfsDeps {
  exports: ExportTable;
  log: Logger;
}

/** Transfer sizes advertised by FSINFO (3.3.19) and enforced by READ/WRITE. */
export const RTMAX = 1048576;
export const WTMAX = 1048576;

/** AUTH_NONE callers are nobody (65534/65534). */
export const NOBODY: Cred = Object.freeze({ uid: 65534, gid: 65534, gids: [] });

/** AUTH_SYS credentials carry uid/gid/gids already: no copy needed. */
export function credOf(ctx: RpcContext): Cred {
  return ctx.auth ?? NOBODY;
}

/**
 * The nfsstat3 for a thrown value: an FsError carries its status; anything else is a
 * bug or an unexpected failure, logged and answered with NFS3ERR_SERVERFAULT.
 */
export function statusOf(e: unknown, log: Logger, proc: string, ctx: RpcContext): NfsStatus {
  if (e instanceof FsError) return e.status;
  log.error({ err: e, proc, xid: ctx.xid, client: ctx.remoteAddress }, 'NFS procedure failed');
  return NfsStatus.SERVERFAULT;
}

/**
 * Post-operation attributes for a failure reply: best effort, never throws.
 * Skipped when the handle itself was rejected.
 */
export async function attrsAfterError(fs: FileSystem | undefined, fh: FileHandle | undefined, status: NfsStatus): Promise<Attrs | null> {
  if (!fs || !fh || status === NfsStatus.BADHANDLE || status === NfsStatus.STALE) return null;
  try {
    return await fs.tryGetattr(fh);
  } catch {
    return null;
  }
}

/** Throw the status a name decoder returned (see readName). */
export function checkedName(name: string | NfsStatus): string {
  if (typeof name !== 'string') throw new FsError(name);
  return name;
}

/** What a procedure's body gets: its decoded arguments, the filesystem of its first handle (and of each). */
export interface Call<A> {
  args: A;
  fs: FileSystem;
  /** the first handle, verified by its export */
  fh: FileHandle;
  /** the filesystem of each handle, in the order of ProcedureSpec.handles */
  all: FileSystem[];
  /** each handle, verified */
  fhs: FileHandle[];
  cred: Cred;
  out: XdrWriter;
}

/**
 * One NFSv3 procedure (RFC 1813 section 3.3): every result is an nfsstat3 and then the arm of that
 * status. The skeleton decodes the arguments (an XdrError there is GARBAGE_ARGS), resolves each handle
 * to its export, runs the body, and on a thrown error answers the status with the failure arm, whose
 * post-op attributes (post_op_attr or the `after` half of wcc_data) it fetches for each handle.
 */
export interface ProcedureSpec<A> {
  /** NFSPROC3 name, for logs */
  name: string;
  decode(args: XdrReader): A;
  /** The handles the call works on, in the order the failure arm reports them. */
  handles(a: A): Buffer[];
  /** Runs the operation and writes the whole reply, status included (NFS3_OK, or e.g. TOOSMALL); done when it
   *  returns nothing (the reply goes out in the same turn: a READ or UNSTABLE WRITE of a file in memory), else
   *  once its promise resolves. */
  run(call: Call<A>): void | Promise<void>;
  /** Writes the failure arm after the status from each handle's post-op attributes; omitted: void. */
  fail?(out: XdrWriter, after: (Attrs | null)[]): void;
}

export function nfsProcedure<A>({ exports, log }: NfsDeps, spec: ProcedureSpec<A>): Handler {
  /** The failure reply for e: the status, then the failure arm with each handle's post-op attributes. */
  const failed = async (
    e: unknown,
    out: XdrWriter,
    start: number,
    ctx: RpcContext,
    all: FileSystem[],
    fhs: FileHandle[],
  ): Promise<void> => {
    if (out.length > start) out.truncate(start); // a partial success reply
    const status = statusOf(e, log, spec.name, ctx);
    const after: (Attrs | null)[] = [];
    if (spec.fail) for (let i = 0; i < fhs.length; i++) after.push(await attrsAfterError(all[i], fhs[i], status));
    out.u32(status);
    spec.fail?.(out, after);
  };
  // not an async function: a body done at once (run returned nothing) answers in the same turn, with no promise
  // (the dispatcher then sends the reply before it returns); an XdrError of decode is thrown, as GARBAGE_ARGS
  return (args, out, ctx) => {
    const a = spec.decode(args);
    const fhs = spec.handles(a);
    const start = out.length;
    // arrays of their final length: push would give each a 17-slot store, per call
    const all: FileSystem[] = new Array<FileSystem>(fhs.length);
    const verified: FileHandle[] = new Array<FileHandle>(fhs.length);
    let done: void | Promise<void>;
    try {
      const cred = credOf(ctx);
      for (let i = 0; i < fhs.length; i++) {
        const r = exports.resolve(fhs[i]);
        // a session bound to one uid answers its other callers ACCES, before anything of it is shown
        if (r.uid !== undefined && cred.uid !== r.uid && cred.uid !== 0) throw new FsError(NfsStatus.ACCES);
        all[i] = r.fs;
        verified[i] = r.fh;
      }
      done = spec.run({ args: a, fs: all[0], fh: verified[0], all, fhs: verified, cred, out });
    } catch (e) {
      return failed(e, out, start, ctx, all, verified);
    }
    if (done === undefined) return undefined;
    return done.then(undefined, (e: unknown) => failed(e, out, start, ctx, all, verified));
  };
}

/** Renames and links never cross exports (NFS3ERR_XDEV). */
export function sameExport(all: FileSystem[]): void {
  if (all.some((fs) => fs !== all[0])) throw new FsError(NfsStatus.XDEV);
}

/** Failure arm of one post_op_attr (LOOKUP3resfail, READ3resfail, ...). */
export function postOpAttrArm(out: XdrWriter, [after]: (Attrs | null)[]): void {
  writePostOpAttr(out, after);
}

/** Failure arm of one wcc_data (SETATTR3resfail, CREATE3resfail, WRITE3resfail, ...). */
export function wccArm(out: XdrWriter, [after]: (Attrs | null)[]): void {
  writeWccAfter(out, after);
}
