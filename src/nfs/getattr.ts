// NFSPROC3_GETATTR (RFC 1813 3.3.1). Hot path: one fs call, no extra allocation.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/types.js';
import { statusOf, type NfsDeps } from './common.js';
import { readFh, writeFattr } from './xdr-types.js';

export function getattr({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    try {
      const attrs = await exports.resolve(fh).getattr(fh);
      out.u32(NfsStatus.OK);
      writeFattr(out, attrs);
    } catch (e) {
      // GETATTR3resfail is void
      out.u32(statusOf(e, log, 'GETATTR', ctx));
    }
  };
}
