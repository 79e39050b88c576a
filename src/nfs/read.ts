// NFSPROC3_READ (RFC 1813 3.3.6). count is capped at rtmax. Large data goes out by reference (a pooled
// buffer); a small read is read straight into the reply, behind room reserved for the fixed part of READ3resok.
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, RTMAX, type NfsDeps } from './common.js';
import { nfsBytes } from '../metrics/rpc-metrics.js';
import { BufferPool } from '../../util/buffer-pool.js';
import { FATTR3_SIZE, fattrBytes, readFh, writeFattr } from './xdr-types.js';

/** READ3resok up to the data: status, attributes follow, fattr3, count, eof, the data's length word. */
const HEAD = 4 + 4 + FATTR3_SIZE + 4 + 4 + 4;
/** Reply buffers of small READs: the RPC header, HEAD and up to 64 KiB of data; given back once sent. */
const replyBuffers = new BufferPool(64 * 1024 + 1024);

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
      let at = -1;
      let region: Buffer | null = null;
      const into = (len: number): Buffer => {
        at = out.length;
        const need = HEAD + ((len + 3) & ~3);
        if (out.pos === at && at + need <= replyBuffers.size) {
          // the reply in a pooled buffer (a fresh 4 KiB+ Buffer per READ was most of what is left in JS)
          const buf = replyBuffers.take();
          out.adopt(buf);
          out.onRelease(() => replyBuffers.give(buf));
        }
        region = out.reserve(need);
        return region.subarray(HEAD, HEAD + len);
      };
      const res = await fs.read(fh, offset, count, cred, into);
      if (res.inPlace && region !== null) {
        const r: Buffer = region;
        const got = res.data.length;
        const padded = (got + 3) & ~3;
        r.writeUInt32BE(NfsStatus.OK, 0);
        r.writeUInt32BE(1, 4);
        r.set(fattrBytes(res.attrs), 8);
        r.writeUInt32BE(got, 8 + FATTR3_SIZE);
        r.writeUInt32BE(res.eof ? 1 : 0, 12 + FATTR3_SIZE);
        r.writeUInt32BE(got, 16 + FATTR3_SIZE);
        // the reply buffer is not zeroed: the padding must be (and a short read leaves less data than reserved)
        r.fill(0, HEAD + got, HEAD + padded);
        if (HEAD + padded < r.length) out.truncate(at + HEAD + padded);
        nfsBytes.inc({ op: 'read' }, got);
        return;
      }
      if (at >= 0) out.truncate(at); // offered room, not used
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
