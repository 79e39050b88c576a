// NFSPROC3_REMOVE (RFC 1813 3.3.12) and NFSPROC3_RMDIR (3.3.13): same arguments
// (diropargs3), wcc_data for the directory in both arms.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readName, writeWcc, writeWccAfter } from './xdr-types.js';

function removeEntry(op: 'remove' | 'rmdir', { exports, log }: NfsDeps): Handler {
  const name = op.toUpperCase();
  return async (args, out, ctx) => {
    const dir = readFh(args);
    const entry = readName(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const wcc = await fs[op](dir, checkedName(entry), credOf(ctx));
      out.u32(NfsStatus.OK);
      writeWcc(out, wcc);
    } catch (e) {
      const status = statusOf(e, log, name, ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writeWccAfter(out, after);
    }
  };
}

export const remove = (deps: NfsDeps): Handler => removeEntry('remove', deps);
export const rmdir = (deps: NfsDeps): Handler => removeEntry('rmdir', deps);
