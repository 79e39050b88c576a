// NFSPROC3_MKNOD (RFC 1813 3.3.11): mknoddata3 is a union on ftype3.
import type { Handler } from '../../rpc/handler.js';
import { FileType, FsError, NfsStatus, type SetAttrs } from '../fs/file-system.js';
import { checkedName, nfsProcedure, wccArm, type NfsDeps } from './common.js';
import { readFh, readName, readSattr, readSpecData, writeCreateOk } from './xdr-types.js';

export function mknod(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'MKNOD',
    decode: (args) => {
      const dir = readFh(args);
      const name = readName(args);
      const type: number = args.u32();
      let attrs: SetAttrs | null = null;
      let rdev: [number, number] = [0, 0];
      if (type === FileType.CHR || type === FileType.BLK) {
        // devicedata3
        attrs = readSattr(args);
        rdev = readSpecData(args);
      } else if (type === FileType.SOCK || type === FileType.FIFO) {
        attrs = readSattr(args); // pipe_attributes
      } // default: void
      return { dir, name, type, attrs, rdev };
    },
    handles: (a) => [a.dir],
    async run({ args: { name, type, attrs, rdev }, fh: dir, fs, cred, out }) {
      const n = checkedName(name);
      if (attrs === null) throw new FsError(NfsStatus.BADTYPE, `MKNOD of type ${type}`);
      const res = await fs.mknod(dir, n, type as FileType, attrs, rdev, cred);
      out.u32(NfsStatus.OK);
      writeCreateOk(out, res);
    },
    fail: wccArm, // MKNOD3resfail: dir_wcc
  });
}
