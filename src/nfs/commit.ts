// NFSPROC3_COMMIT (RFC 1813 3.3.21): wcc_data in both arms, the write verifier on success.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, wccArm, type NfsDeps } from './common.js';
import { readFh, writeWcc } from './xdr-types.js';

export function commit(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'COMMIT',
    decode: (args) => ({ fh: readFh(args), offset: args.u64n(), count: args.u32() }),
    handles: (a) => [a.fh],
    async run({ args: { offset, count }, fh, fs, out }) {
      const wcc = await fs.commit(fh, offset, count);
      out.u32(NfsStatus.OK);
      writeWcc(out, wcc);
      out.fixed(fs.writeVerifier);
    },
    fail: wccArm, // COMMIT3resfail: file_wcc
  });
}
