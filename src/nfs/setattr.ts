// NFSPROC3_SETATTR (RFC 1813 3.3.2): sattr3 plus the sattrguard3 ctime guard.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem, type NfsTime } from '../fs/types.js';
import { attrsAfterError, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readSattr, readTime, writeWcc, writeWccAfter } from './xdr-types.js';

export function setattr({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    const set = readSattr(args);
    // sattrguard3: if check is TRUE, obj_ctime must match the object's ctime
    const guard: NfsTime | null = args.bool() ? readTime(args) : null;
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      const wcc = await fs.setattr(fh, set, guard, credOf(ctx));
      out.u32(NfsStatus.OK);
      writeWcc(out, wcc);
    } catch (e) {
      const status = statusOf(e, log, 'SETATTR', ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writeWccAfter(out, after); // SETATTR3resfail: obj_wcc
    }
  };
}
