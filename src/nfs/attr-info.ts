// The shape FSINFO (RFC 1813 3.3.19) and PATHCONF (3.3.20) share: one handle in,
// post_op_attr plus fixed information out; post_op_attr alone on failure.
import type { Handler } from '../../rpc/handler.js';
import type { XdrWriter } from '../../rpc/xdr.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, statusOf, type NfsDeps } from './common.js';
import { readFh, writeFattr, writePostOpAttr } from './xdr-types.js';

export function attrInfoProcedure(name: string, { exports, log }: NfsDeps, writeInfo: (out: XdrWriter, fs: FileSystem) => void): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      const attrs = await fs.getattr(fh);
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, attrs);
      writeInfo(out, fs);
    } catch (e) {
      const status = statusOf(e, log, name, ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writePostOpAttr(out, after);
    }
  };
}
