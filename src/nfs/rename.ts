// NFSPROC3_RENAME (RFC 1813 3.3.14): wcc_data for both directories in both arms.
import type { Handler } from '../../rpc/handler.js';
import { FsError, NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readName, writeWcc, writeWccAfter } from './xdr-types.js';

export function rename({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fromDir = readFh(args);
    const fromName = readName(args);
    const toDir = readFh(args);
    const toName = readName(args);
    let fromFs: FileSystem | undefined;
    let toFs: FileSystem | undefined;
    try {
      fromFs = exports.resolve(fromDir);
      toFs = exports.resolve(toDir);
      const f = checkedName(fromName);
      const t = checkedName(toName);
      // Renames never cross exports (NFS3ERR_XDEV)
      if (fromFs !== toFs) throw new FsError(NfsStatus.XDEV);
      const res = await fromFs.rename(fromDir, f, toDir, t, credOf(ctx));
      out.u32(NfsStatus.OK);
      writeWcc(out, res.from);
      writeWcc(out, res.to);
    } catch (e) {
      const status = statusOf(e, log, 'RENAME', ctx);
      const fromAfter = await attrsAfterError(fromFs, fromDir, status);
      const toAfter = await attrsAfterError(toFs, toDir, status);
      out.u32(status);
      writeWccAfter(out, fromAfter); // fromdir_wcc
      writeWccAfter(out, toAfter);   // todir_wcc
    }
  };
}
