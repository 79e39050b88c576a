// NFSPROC3_READLINK (RFC 1813 3.3.5).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, type NfsDeps } from './common.js';
import { readFh, writeFattr } from './xdr-types.js';

export function readlink(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'READLINK',
    decode: readFh,
    handles: (fh) => [fh],
    async run({ fh, fs, cred, out }) {
      const res = await fs.readlink(fh, cred);
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, res.attrs);
      out.string(res.target); // nfspath3
    },
    fail: postOpAttrArm, // READLINK3resfail: symlink_attributes
  });
}
