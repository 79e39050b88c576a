// MOUNTPROC3_MNT (RFC 1813 5.2.1): the export's root handle and the accepted auth flavors.
import { isUtf8 } from 'node:buffer';
import type { Handler } from '../../rpc/handler.js';
import { AUTH_NONE, AUTH_SYS } from '../../rpc/message.js';
import { MountError } from '../fs/file-system.js';
import { MNTPATHLEN, MountStat, type MountDeps } from './common.js';

export function mnt({ exports, log }: MountDeps): Handler {
  return async (args, out, ctx) => {
    const raw = args.opaque(65536);
    let status: number;
    if (raw.length > MNTPATHLEN) status = MountStat.NAMETOOLONG;
    else if (!isUtf8(raw)) status = MountStat.INVAL;
    else {
      try {
        const fh = await exports.mount(raw.toString('utf8'), ctx.remoteAddress);
        out.u32(MountStat.OK);
        out.opaque(fh); // fhandle3
        // auth_flavors: Linux insists on finding AUTH_SYS here
        out.u32(2);
        out.u32(AUTH_SYS);
        out.u32(AUTH_NONE);
        return;
      } catch (e) {
        if (e instanceof MountError) status = e.status;
        else {
          log.error({ err: e, client: ctx.remoteAddress }, 'MOUNT MNT failed');
          status = MountStat.SERVERFAULT;
        }
      }
    }
    out.u32(status); // mountres3 failure arm is void
  };
}
