// NFSPROC3_CREATE (RFC 1813 3.3.8): UNCHECKED / GUARDED with sattr3, EXCLUSIVE with a verifier.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { checkedName, nfsProcedure, wccArm, type NfsDeps } from './common.js';
import { readCreateHow, readFh, readName, writeCreateOk } from './xdr-types.js';

export function create(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'CREATE',
    decode: (args) => ({ dir: readFh(args), name: readName(args), how: readCreateHow(args) }),
    handles: (a) => [a.dir],
    // no async frame: the filesystem's promise with one reaction (a checkedName error is thrown, as a rejection would be)
    run: ({ args: { name, how }, fh: dir, fs, cred, out }) =>
      fs.create(dir, checkedName(name), how, cred).then((res) => {
        out.u32(NfsStatus.OK);
        writeCreateOk(out, res);
      }),
    fail: wccArm, // CREATE3resfail: dir_wcc
  });
}
