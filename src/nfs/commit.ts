// NFSPROC3_COMMIT (RFC 1813 3.3.21): wcc_data in both arms, the write verifier on success.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, statusOf, type NfsDeps } from './common.js';
import { readFh, writeWcc, writeWccAfter } from './xdr-types.js';

export function commit({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    const offset = args.u64n();
    const count = args.u32();
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      const wcc = await fs.commit(fh, offset, count);
      out.u32(NfsStatus.OK);
      writeWcc(out, wcc);
      out.fixed(fs.writeVerifier);
    } catch (e) {
      const status = statusOf(e, log, 'COMMIT', ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writeWccAfter(out, after);
    }
  };
}
