// NFSPROC3_CREATE (RFC 1813 3.3.8): UNCHECKED / GUARDED with sattr3, EXCLUSIVE with a verifier.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, checkedName, credOf, statusOf, type NfsDeps } from './common.js';
import { readCreateHow, readFh, readName, writeCreateOk, writeWccAfter } from './xdr-types.js';

export function create({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const dir = readFh(args);
    const name = readName(args);
    const how = readCreateHow(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const res = await fs.create(dir, checkedName(name), how, credOf(ctx));
      out.u32(NfsStatus.OK);
      writeCreateOk(out, res);
    } catch (e) {
      const status = statusOf(e, log, 'CREATE', ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writeWccAfter(out, after); // CREATE3resfail: dir_wcc
    }
  };
}
