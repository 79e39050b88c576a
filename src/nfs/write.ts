// NFSPROC3_WRITE (RFC 1813 3.3.7).
import type { Handler } from '../../rpc/types.js';
import { XdrError } from '../../rpc/xdr.js';
import { FsError, NfsStatus, StableHow, type FileSystem } from '../fs/types.js';
import { attrsAfterError, credOf, statusOf, WTMAX, type NfsDeps } from './common.js';
import { nfsBytes } from '../metrics/rpc-metrics.js';
import { readFh, writeWcc, writeWccAfter } from './xdr-types.js';

export function write({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const fh = readFh(args);
    const offset = args.u64n();
    const count = args.u32();
    const stable = args.u32();
    if (stable > StableHow.FILE_SYNC) throw new XdrError(`bad stable_how ${stable}`);
    // data is a view into the request record; the fs copies what it keeps
    let data = args.opaque();
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(fh);
      // "count: the number of bytes of data to be written": the opaque must hold them
      if (count > data.length) throw new FsError(NfsStatus.INVAL, 'WRITE count exceeds data length');
      if (count < data.length) data = data.subarray(0, count);
      // The server may write less than asked (3.3.7): at most wtmax; the client resends the rest
      if (data.length > WTMAX) data = data.subarray(0, WTMAX);
      const res = await fs.write(fh, offset, data, stable, credOf(ctx));
      out.u32(NfsStatus.OK);
      writeWcc(out, res.wcc);
      out.u32(res.count);
      nfsBytes.inc({ op: 'write' }, res.count);
      out.u32(res.committed);
      out.fixed(fs.writeVerifier);
    } catch (e) {
      const status = statusOf(e, log, 'WRITE', ctx);
      const after = await attrsAfterError(fs, fh, status);
      out.u32(status);
      writeWccAfter(out, after); // WRITE3resfail: file_wcc
    }
  };
}
