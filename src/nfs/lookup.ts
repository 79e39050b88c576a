// NFSPROC3_LOOKUP (RFC 1813 3.3.3). Failure carries the directory's post_op_attr.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readName, writeFattr, writePostOpAttr } from './xdr-types.js';

export function lookup({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const dir = readFh(args);
    const name = readName(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const res = await fs.lookup(dir, checkedName(name), credOf(ctx));
      out.u32(NfsStatus.OK);
      out.opaque(res.node.fh);
      out.u32(1);
      writeFattr(out, res.node.attrs);
      out.u32(1);
      writeFattr(out, res.dir);
    } catch (e) {
      const status = statusOf(e, log, 'LOOKUP', ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writePostOpAttr(out, after); // LOOKUP3resfail: dir_attributes
    }
  };
}
