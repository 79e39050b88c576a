// NFSPROC3_ACCESS (RFC 1813 3.3.4).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, type NfsDeps } from './common.js';
import { readFh, writeFattr } from './xdr-types.js';

export function access(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'ACCESS',
    decode: (args) => ({ fh: readFh(args), mask: args.u32() }),
    handles: (a) => [a.fh],
    async run({ args: { mask }, fh, fs, cred, out }) {
      const res = await fs.access(fh, mask, cred);
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, res.attrs);
      out.u32(res.access & mask);
    },
    fail: postOpAttrArm, // ACCESS3resfail: obj_attributes
  });
}
