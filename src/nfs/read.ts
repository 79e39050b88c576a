// NFSPROC3_READ (RFC 1813 3.3.6). count is capped at rtmax; data goes out by reference.
import type { Handler } from '../../rpc/types.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, credOf, RTMAX, statusOf, type NfsDeps } from './common.js';
import { nfsBytes } from '../metrics/rpc-metrics.js';
import { readFh, writeFattr, writePostOpAttr } from './xdr-types.js';

export function read({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    const offset = args.u64n();
    let count = args.u32();
    if (count > RTMAX) count = RTMAX;
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      const res = await fs.read(fh, offset, count, credOf(ctx));
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
    } catch (e) {
      const status = statusOf(e, log, 'READ', ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writePostOpAttr(out, after); // READ3resfail: file_attributes
    }
  };
}
