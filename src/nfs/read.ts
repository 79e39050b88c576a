// NFSPROC3_READ (RFC 1813 3.3.6). count is capped at rtmax. A small read is read straight into the reply, behind
// room reserved for the fixed part of READ3resok. A large read of a session file lands in a pooled buffer behind
// room for the headers: the reply is written around the data and goes out as one buffer (one write(2), no cork,
// no writev, no copy). With the sendfile addon (rpc/file-slice.ts), a large read of a session file is not read at
// all here: the reply ends with the data file's bytes, which the connection sends with sendfile(2) (or reads, where
// it cannot). Other large data (a landed blob's) goes out by reference.
import type { Handler } from '../../rpc/handler.js';
import type { XdrWriter } from '../../rpc/xdr.js';
import { NfsStatus, type Attrs, type ReadResult } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, RTMAX, type NfsDeps } from './common.js';
import { nfsBytes } from '../metrics/rpc-metrics.js';
import { BufferPool } from '../../util/buffer-pool.js';
import { FileSlice, sendfileAddon } from '../../rpc/file-slice.js';
import { FATTR3_SIZE, fattrBytes, readFh, writeFattr } from './xdr-types.js';

/** READ3resok up to the data: status, attributes follow, fattr3, count, eof, the data's length word. */
const HEAD = 4 + 4 + FATTR3_SIZE + 4 + 4 + 4;
/** Reply buffers of small READs: the RPC header, HEAD and up to 64 KiB of data; given back once sent. */
const replyBuffers = new BufferPool(64 * 1024 + 1024);

/**
 * Writes READ3resok's head into r[0, HEAD) for `got` bytes of data at r[HEAD...] and zeroes their XDR padding
 * (reply buffers are not zeroed); returns the padded length of the data.
 */
function fillHead(r: Buffer, attrs: Attrs, got: number, eof: boolean): number {
  const padded = (got + 3) & ~3;
  r.writeUInt32BE(NfsStatus.OK, 0);
  r.writeUInt32BE(1, 4);
  r.set(fattrBytes(attrs), 8);
  r.writeUInt32BE(got, 8 + FATTR3_SIZE);
  r.writeUInt32BE(eof ? 1 : 0, 12 + FATTR3_SIZE);
  r.writeUInt32BE(got, 16 + FATTR3_SIZE);
  r.fill(0, HEAD + got, HEAD + padded);
  return padded;
}

/** READ3resok (RFC 1813 3.3.6) up to the data, onto the writer: status, attributes follow, fattr3, count, eof. */
function writeOkHead(out: XdrWriter, attrs: Attrs, count: number, eof: boolean): void {
  out.u32(NfsStatus.OK);
  out.u32(1);
  writeFattr(out, attrs);
  out.u32(count);
  out.bool(eof);
}

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
    // not an async function: a READ of a session file in memory is answered in the same turn (no promise)
    run({ args: { offset, count }, fh, fs, cred, out }) {
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
      const got = fs.read(fh, offset, count, cred, into, sendfileAddon() !== null);
      if (got instanceof Promise) return got.then((res) => reply(res));
      reply(got);

      function reply(res: ReadResult): void {
        const file = res.file;
        if (file !== undefined) {
          // count, eof and the data's length promise file.length bytes: the connection sends exactly that many,
          // zeros for any the file has lost since (a truncation racing the send)
          writeOkHead(out, res.attrs, file.length, res.eof);
          out.u32(file.length);
          out.fileTail(new FileSlice(file.fd, file.offset, file.length, (4 - (file.length & 3)) & 3, file.release));
          nfsBytes.inc({ op: 'read' }, file.length);
          return;
        }
        if (res.inPlace && region !== null) {
          const r: Buffer = region;
          const got = res.data.length;
          const padded = fillHead(r, res.attrs, got, res.eof);
          // a short read leaves less data than reserved
          if (HEAD + padded < r.length) out.truncate(at + HEAD + padded);
          nfsBytes.inc({ op: 'read' }, got);
          return;
        }
        if (at >= 0) out.truncate(at); // offered room, not used
        // the data's buffers (pooled, or leased chunks) are given back once the reply has gone out or been dropped
        if (res.release) out.onRelease(res.release);
        const parts = res.parts;
        if (parts !== undefined) {
          // a landed blob's range over several chunks: the cached chunks' bytes by reference, not joined
          let n = 0;
          for (const p of parts) n += p.length;
          if (n <= count) {
            writeOkHead(out, res.attrs, n, res.eof);
            out.opaqueRefs(parts);
            nfsBytes.inc({ op: 'read' }, n);
            return;
          }
        }
        let data = res.data;
        if (data.length > count) data = data.subarray(0, count);
        const frame = res.frame;
        if (frame !== undefined && out.pos === out.length) {
          // the reply so far (record mark, RPC header) and READ3resok's head go right in front of the data
          const got = data.length;
          const lead = out.pos + HEAD;
          const start = data.byteOffset - frame.byteOffset - lead;
          const padded = (got + 3) & ~3;
          if (start >= 0 && start + lead + padded <= frame.length && frame.buffer === data.buffer) {
            out.adopt(frame.subarray(start, start + lead + padded));
            // the data is already at HEAD in it
            fillHead(out.reserve(lead - out.pos + padded), res.attrs, got, res.eof);
            nfsBytes.inc({ op: 'read' }, got);
            return;
          }
        }
        writeOkHead(out, res.attrs, data.length, res.eof);
        out.opaqueRef(data);
        nfsBytes.inc({ op: 'read' }, data.length);
      }
    },
    fail: postOpAttrArm, // READ3resfail: file_attributes
  });
}
