// NFSPROC3_LINK (RFC 1813 3.3.15): file post_op_attr and link directory wcc_data in both arms.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { checkedName, nfsProcedure, sameExport, type NfsDeps } from './common.js';
import { readFh, readName, writePostOpAttr, writeWcc, writeWccAfter } from './xdr-types.js';

export function link(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'LINK',
    decode: (args) => ({ file: readFh(args), dir: readFh(args), name: readName(args) }),
    handles: (a) => [a.file, a.dir],
    async run({ args: { name }, all, fhs: [file, dir], cred, out }) {
      const n = checkedName(name);
      sameExport(all);
      const res = await all[1].link(file, dir, n, cred);
      out.u32(NfsStatus.OK);
      writePostOpAttr(out, res.attrs);
      writeWcc(out, res.dir);
    },
    fail(out, [fileAfter, dirAfter]) {
      writePostOpAttr(out, fileAfter); // file_attributes
      writeWccAfter(out, dirAfter); // linkdir_wcc
    },
  });
}
