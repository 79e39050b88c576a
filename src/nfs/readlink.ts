// NFSPROC3_READLINK (RFC 1813 3.3.5).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, writeFattr, writePostOpAttr } from './xdr-types.js';

export function readlink({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      const res = await fs.readlink(fh, credOf(ctx));
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, res.attrs);
      out.string(res.target); // nfspath3
    } catch (e) {
      const status = statusOf(e, log, 'READLINK', ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writePostOpAttr(out, after); // READLINK3resfail: symlink_attributes
    }
  };
}
