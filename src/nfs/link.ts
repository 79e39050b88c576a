// NFSPROC3_LINK (RFC 1813 3.3.15): file post_op_attr and link directory wcc_data in both arms.
import type { Handler } from '../../rpc/handler.js';
import { FsError, NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readFh, readName, writePostOpAttr, writeWcc, writeWccAfter } from './xdr-types.js';

export function link({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const file = readFh(args);
    const dir = readFh(args);
    const name = readName(args);
    let fileFs: FileSystem | undefined;
    let dirFs: FileSystem | undefined;
    try {
      fileFs = exports.resolve(file);
      dirFs = exports.resolve(dir);
      const n = checkedName(name);
      if (fileFs !== dirFs) throw new FsError(NfsStatus.XDEV);
      const res = await dirFs.link(file, dir, n, credOf(ctx));
      out.u32(NfsStatus.OK);
      writePostOpAttr(out, res.attrs);
      writeWcc(out, res.dir);
    } catch (e) {
      const status = statusOf(e, log, 'LINK', ctx);
      const fileAfter = await attrsAfterError(fileFs, file, status);
      const dirAfter = await attrsAfterError(dirFs, dir, status);
      out.u32(status);
      writePostOpAttr(out, fileAfter); // file_attributes
      writeWccAfter(out, dirAfter);    // linkdir_wcc
    }
  };
}
