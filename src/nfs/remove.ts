// NFSPROC3_REMOVE (RFC 1813 3.3.12) and NFSPROC3_RMDIR (3.3.13): same arguments
// (diropargs3), wcc_data for the directory in both arms.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { checkedName, nfsProcedure, wccArm, type NfsDeps } from './common.js';
import { readFh, readName, writeWcc } from './xdr-types.js';

function removeEntry(op: 'remove' | 'rmdir', deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: op.toUpperCase(),
    decode: (args) => ({ dir: readFh(args), entry: readName(args) }),
    handles: (a) => [a.dir],
    async run({ args: { entry }, fh: dir, fs, cred, out }) {
      const wcc = await fs[op](dir, checkedName(entry), cred);
      out.u32(NfsStatus.OK);
      writeWcc(out, wcc);
    },
    fail: wccArm, // dir_wcc
  });
}

export const remove = (deps: NfsDeps): Handler => removeEntry('remove', deps);
export const rmdir = (deps: NfsDeps): Handler => removeEntry('rmdir', deps);
