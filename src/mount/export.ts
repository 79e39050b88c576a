// MOUNTPROC3_EXPORT (RFC 1813 5.2.5): exports, a linked list of (dirpath, groups list).
import type { Handler } from '../../rpc/handler.js';
import type { MountDeps } from './common.js';

export function exportProc({ exports }: MountDeps): Handler {
  return async (_args, out) => {
    const list = await exports.exports();
    for (const ex of list) {
      out.u32(1);
      out.string(ex.path);
      for (const g of ex.groups) {
        out.u32(1);
        out.string(g);
      }
      out.u32(0); // end of ex_groups
    }
    out.u32(0);
  };
}
