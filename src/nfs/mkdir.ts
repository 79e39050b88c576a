// NFSPROC3_MKDIR (RFC 1813 3.3.9).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { checkedName, nfsProcedure, wccArm, type NfsDeps } from './common.js';
import { readFh, readName, readSattr, writeCreateOk } from './xdr-types.js';

export function mkdir(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'MKDIR',
    decode: (args) => ({ dir: readFh(args), name: readName(args), attrs: readSattr(args) }),
    handles: (a) => [a.dir],
    // no async frame: the filesystem's promise with one reaction (a checkedName error is thrown, as a rejection would be)
    run: ({ args: { name, attrs }, fh: dir, fs, cred, out }) =>
      fs.mkdir(dir, checkedName(name), attrs, cred).then((res) => {
        out.u32(NfsStatus.OK);
        writeCreateOk(out, res);
      }),
    fail: wccArm, // MKDIR3resfail: dir_wcc
  });
}
