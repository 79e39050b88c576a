// NFSPROC3_WRITE (RFC 1813 3.3.7).
import type { Handler } from '../../rpc/handler.js';
import { XdrError, type XdrWriter } from '../../rpc/xdr.js';
import { FsError, NfsStatus, StableHow, type WriteResult } from '../fs/file-system.js';
import { nfsProcedure, wccArm, WTMAX, type NfsDeps } from './common.js';
import { nfsBytes } from '../metrics/rpc-metrics.js';
import { readFh, writeWcc } from './xdr-types.js';

export function write(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'WRITE',
    decode: (args) => {
      const fh = readFh(args);
      const offset = args.u64n();
      const count = args.u32();
      const stable: StableHow = args.u32();
      if (stable > StableHow.FILE_SYNC) throw new XdrError(`bad stable_how ${stable}`);
      // data is a view into the request record; the fs copies what it keeps
      const data = args.opaque();
      return { fh, offset, count, stable, data };
    },
    handles: (a) => [a.fh],
    // not an async function: an UNSTABLE write to a file in memory is answered in the same turn (no promise)
    run({ args: { offset, count, stable, data }, fh, fs, cred, out }) {
      // "count: the number of bytes of data to be written": the opaque must hold them
      if (count > data.length) throw new FsError(NfsStatus.INVAL, 'WRITE count exceeds data length');
      if (count < data.length) data = data.subarray(0, count);
      // The server may write less than asked (3.3.7): at most wtmax; the client resends the rest
      if (data.length > WTMAX) data = data.subarray(0, WTMAX);
      const got = fs.write(fh, offset, data, stable, cred);
      if (got instanceof Promise) return got.then((res) => written(out, res, fs.writeVerifier));
      written(out, got, fs.writeVerifier);
    },
    fail: wccArm, // WRITE3resfail: file_wcc
  });
}

/** WRITE3resok (RFC 1813 3.3.7). */
function written(out: XdrWriter, res: WriteResult, verifier: Buffer): void {
  out.u32(NfsStatus.OK);
  writeWcc(out, res.wcc);
  out.u32(res.count);
  nfsBytes.inc({ op: 'write' }, res.count);
  out.u32(res.committed);
  out.fixed(verifier);
}
