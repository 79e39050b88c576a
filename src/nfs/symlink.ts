// NFSPROC3_SYMLINK (RFC 1813 3.3.10): symlinkdata3 is sattr3 then the nfspath3 target.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readName, readPath, readSattr, writeCreateOk, writeWccAfter } from './xdr-types.js';

export function symlink({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const dir = readFh(args);
    const name = readName(args);
    const attrs = readSattr(args);
    const target = readPath(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const n = checkedName(name);
      const res = await fs.symlink(dir, n, checkedName(target), attrs, credOf(ctx));
      out.u32(NfsStatus.OK);
      writeCreateOk(out, res);
    } catch (e) {
      const status = statusOf(e, log, 'SYMLINK', ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writeWccAfter(out, after); // SYMLINK3resfail: dir_wcc
    }
  };
}
