// NFSPROC3_RENAME (RFC 1813 3.3.14): wcc_data for both directories in both arms.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { checkedName, nfsProcedure, sameExport, type NfsDeps } from './common.js';
import { readFh, readName, writeWcc, writeWccAfter } from './xdr-types.js';

export function rename(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'RENAME',
    decode: (args) => ({ fromDir: readFh(args), fromName: readName(args), toDir: readFh(args), toName: readName(args) }),
    handles: (a) => [a.fromDir, a.toDir],
    async run({ args: { fromName, toName }, fs, all, fhs: [fromDir, toDir], cred, out }) {
      const f = checkedName(fromName);
      const t = checkedName(toName);
      sameExport(all);
      const res = await fs.rename(fromDir, f, toDir, t, cred);
      out.u32(NfsStatus.OK);
      writeWcc(out, res.from);
      writeWcc(out, res.to);
    },
    fail(out, [fromAfter, toAfter]) {
      writeWccAfter(out, fromAfter); // fromdir_wcc
      writeWccAfter(out, toAfter); // todir_wcc
    },
  });
}
