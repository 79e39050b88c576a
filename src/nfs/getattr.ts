// NFSPROC3_GETATTR (RFC 1813 3.3.1). Hot path: one fs call, no extra allocation.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, type NfsDeps } from './common.js';
import { readFh, writeFattr } from './xdr-types.js';

export function getattr(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'GETATTR',
    decode: readFh,
    handles: (fh) => [fh],
    async run({ fh, fs, out }) {
      const attrs = await fs.getattr(fh);
      out.u32(NfsStatus.OK);
      writeFattr(out, attrs);
    },
    // GETATTR3resfail is void
  });
}
