// NFSPROC3_ACCESS (RFC 1813 3.3.4).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, writeFattr, writePostOpAttr } from './xdr-types.js';

export function access({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    const mask = args.u32();
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      const res = await fs.access(fh, mask, credOf(ctx));
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, res.attrs);
      out.u32(res.access & mask);
    } catch (e) {
      const status = statusOf(e, log, 'ACCESS', ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writePostOpAttr(out, after); // ACCESS3resfail: obj_attributes
    }
  };
}
