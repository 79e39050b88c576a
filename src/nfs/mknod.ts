// NFSPROC3_MKNOD (RFC 1813 3.3.11): mknoddata3 is a union on ftype3.
import type { Handler } from '../../rpc/handler.js';
import { FileType, FsError, NfsStatus, type FileSystem, type SetAttrs } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readName, readSattr, readSpecData, writeCreateOk, writeWccAfter } from './xdr-types.js';

export function mknod({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
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
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const n = checkedName(name);
      if (attrs === null) throw new FsError(NfsStatus.BADTYPE, `MKNOD of type ${type}`);
      const res = await fs.mknod(dir, n, type as FileType, attrs, rdev, credOf(ctx));
      out.u32(NfsStatus.OK);
      writeCreateOk(out, res);
    } catch (e) {
      const status = statusOf(e, log, 'MKNOD', ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writeWccAfter(out, after); // MKNOD3resfail: dir_wcc
    }
  };
}
