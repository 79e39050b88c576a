// NFSPROC3_READ (RFC 1813 3.3.6). count is capped at rtmax; data goes out by reference.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, RTMAX, type NfsDeps } from './common.js';
import { nfsBytes } from '../metrics/rpc-metrics.js';
import { readFh, writeFattr } from './xdr-types.js';

export function read(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'READ',
    decode: (args) => {
      const fh = readFh(args);
      const offset = args.u64n();
      const count = Math.min(args.u32(), RTMAX);
      return { fh, offset, count };
    },
    handles: (a) => [a.fh],
    async run({ args: { offset, count }, fh, fs, cred, out }) {
      const res = await fs.read(fh, offset, count, cred);
      if (res.release) out.onRelease(res.release);
      let data = res.data;
      if (data.length > count) data = data.subarray(0, count);
      out.u32(NfsStatus.OK);
      out.u32(1);
      writeFattr(out, res.attrs);
      out.u32(data.length);
      out.bool(res.eof);
      out.opaqueRef(data);
      nfsBytes.inc({ op: 'read' }, data.length);
    },
    fail: postOpAttrArm, // READ3resfail: file_attributes
  });
}
