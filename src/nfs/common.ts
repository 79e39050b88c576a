// Shared pieces of the NFSv3 procedures (RFC 1813 section 3).
import type { Logger } from 'pino';
import type { RpcContext } from '../../rpc/handler.js';
import {
  FsError, NfsStatus, type Attrs, type Cred, type ExportTable, type FileSystem,
} from '../fs/types.js';

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
export async function attrsAfterError(
  fs: FileSystem | undefined, fh: Buffer, status: NfsStatus,
): Promise<Attrs | null> {
  if (!fs || status === NfsStatus.BADHANDLE || status === NfsStatus.STALE) return null;
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
