// NFSPROC3_SETATTR (RFC 1813 3.3.2): sattr3 plus the sattrguard3 ctime guard.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type NfsTime } from '../fs/file-system.js';
import { nfsProcedure, wccArm, type NfsDeps } from './common.js';
import { readFh, readSattr, readTime, writeWcc } from './xdr-types.js';

export function setattr(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'SETATTR',
    decode: (args) => {
      const fh = readFh(args);
      const set = readSattr(args);
      // sattrguard3: if check is TRUE, obj_ctime must match the object's ctime
      const guard: NfsTime | null = args.bool() ? readTime(args) : null;
      return { fh, set, guard };
    },
    handles: (a) => [a.fh],
    // no async frame: the filesystem's promise with one reaction (SETATTR is most of an untar's calls)
    run: ({ args: { set, guard }, fh, fs, cred, out }) =>
      fs.setattr(fh, set, guard, cred).then((wcc) => {
        out.u32(NfsStatus.OK);
        writeWcc(out, wcc);
      }),
    fail: wccArm, // SETATTR3resfail: obj_wcc
  });
}
