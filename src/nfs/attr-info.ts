// The shape FSINFO (RFC 1813 3.3.19) and PATHCONF (3.3.20) share: one handle in,
// post_op_attr plus fixed information out; post_op_attr alone on failure.
import type { Handler } from '../../rpc/handler.js';
import type { XdrWriter } from '../../rpc/xdr.js';
import { NfsStatus, type FileSystem } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, type NfsDeps } from './common.js';
import { readFh, writeFattr } from './xdr-types.js';

export function attrInfoProcedure(name: string, deps: NfsDeps, writeInfo: (out: XdrWriter, fs: FileSystem) => void): Handler {
  return nfsProcedure(deps, {
    name,
    decode: readFh,
    handles: (fh) => [fh],
    async run({ fh, fs, out }) {
      const attrs = await fs.getattr(fh);
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, attrs);
      writeInfo(out, fs);
    },
    fail: postOpAttrArm,
  });
}
