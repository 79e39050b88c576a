// NFSPROC3_SYMLINK (RFC 1813 3.3.10): symlinkdata3 is sattr3 then the nfspath3 target.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { checkedName, nfsProcedure, wccArm, type NfsDeps } from './common.js';
import { readFh, readName, readPath, readSattr, writeCreateOk } from './xdr-types.js';

export function symlink(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'SYMLINK',
    decode: (args) => ({ dir: readFh(args), name: readName(args), attrs: readSattr(args), target: readPath(args) }),
    handles: (a) => [a.dir],
    async run({ args: { name, attrs, target }, fh: dir, fs, cred, out }) {
      const n = checkedName(name);
      const res = await fs.symlink(dir, n, checkedName(target), attrs, cred);
      out.u32(NfsStatus.OK);
      writeCreateOk(out, res);
    },
    fail: wccArm, // SYMLINK3resfail: dir_wcc
  });
}
