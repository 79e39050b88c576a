// NFSPROC3_MKDIR (RFC 1813 3.3.9).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readName, readSattr, writeCreateOk, writeWccAfter } from './xdr-types.js';

export function mkdir({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const dir = readFh(args);
    const name = readName(args);
    const attrs = readSattr(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const res = await fs.mkdir(dir, checkedName(name), attrs, credOf(ctx));
      out.u32(NfsStatus.OK);
      writeCreateOk(out, res);
    } catch (e) {
      const status = statusOf(e, log, 'MKDIR', ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writeWccAfter(out, after); // MKDIR3resfail: dir_wcc
    }
  };
}
