// NFSPROC3_LOOKUP (RFC 1813 3.3.3). Failure carries the directory's post_op_attr.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { checkedName, nfsProcedure, postOpAttrArm, type NfsDeps } from './common.js';
import { readFh, readName, writeFattr } from './xdr-types.js';

export function lookup(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'LOOKUP',
    decode: (args) => ({ dir: readFh(args), name: readName(args) }),
    handles: (a) => [a.dir],
    async run({ args: { name }, fh: dir, fs, cred, out }) {
      const res = await fs.lookup(dir, checkedName(name), cred);
      out.u32(NfsStatus.OK);
      out.opaque(res.node.fh);
      out.u32(1);
      writeFattr(out, res.node.attrs);
      out.u32(1);
      writeFattr(out, res.dir);
    },
    fail: postOpAttrArm, // LOOKUP3resfail: dir_attributes
  });
}
