// NFSPROC3_FSSTAT (RFC 1813 3.3.18).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, type NfsDeps } from './common.js';
import { readFh, writeFattr } from './xdr-types.js';

export function fsstat(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'FSSTAT',
    decode: readFh,
    handles: (fh) => [fh],
    async run({ fh, fs, out }) {
      const s = await fs.fsstat(fh);
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, s.attrs);
      out.u64(s.tbytes);
      out.u64(s.fbytes);
      out.u64(s.abytes);
      out.u64(s.tfiles);
      out.u64(s.ffiles);
      out.u64(s.afiles);
      out.u32(s.invarsec);
    },
    fail: postOpAttrArm, // FSSTAT3resfail: obj_attributes
  });
}
