// NFSPROC3_FSSTAT (RFC 1813 3.3.18).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, statusOf, type NfsDeps } from './common.js';
import { readFh, writeFattr, writePostOpAttr } from './xdr-types.js';

export function fsstat({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      const s = await fs.fsstat(fh);
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, s.attrs);
      out.u64(s.tbytes);
      out.u64(s.fbytes);
      out.u64(s.abytes);
      out.u64(s.tfiles);
      out.u64(s.ffiles);
      out.u64(s.afiles);
      out.u32(s.invarsec);
    } catch (e) {
      const status = statusOf(e, log, 'FSSTAT', ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writePostOpAttr(out, after);
    }
  };
}
