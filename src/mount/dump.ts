// MOUNTPROC3_DUMP (RFC 1813 5.2.2): mountlist, a linked list of (hostname, directory).
import type { Handler } from '../../rpc/handler.js';
import type { MountDeps } from './common.js';

export function dump({ exports }: MountDeps): Handler {
  return (_args, out) => {
    for (const m of exports.mounts()) {
      out.u32(1);
      out.string(m.host);
      out.string(m.path);
    }
    out.u32(0);
  };
}
