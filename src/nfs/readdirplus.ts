// NFSPROC3_READDIRPLUS (RFC 1813 3.3.17). `dircount` bounds the fileid + name + cookie
// bytes of the entries; `maxcount` bounds the encoded READDIRPLUS3resok (plus status).
import type { Handler } from '../../rpc/handler.js';
import { FsError, NfsStatus, type Attrs, type DirEntry, type FileSystem } from '../fs/types.js';
import { attrsAfterError, credOf, RTMAX, statusOf, type NfsDeps } from './common.js';
import { COOKIEVERFSIZE, DIRLIST_OVERHEAD, xdrOpaqueSize } from './readdir.js';
import { FATTR3_SIZE, readFh, writeFattr, writePostOpAttr } from './xdr-types.js';

/** An entry's attributes or handle may be gone by now (raced removal): then omit them. */
function optional<T>(e: DirEntry, f: (e: DirEntry) => T): T | null {
  try {
    return f(e);
  } catch (err) {
    if (err instanceof FsError) return null;
    throw err;
  }
}
const getAttrs = (e: DirEntry): Attrs => e.attrs();
const getFh = (e: DirEntry): Buffer => e.fh();

export function readdirplus({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const dir = readFh(args);
    const cookie = args.u64();
    const verf = args.fixed(COOKIEVERFSIZE);
    // dircount 0 (sent by some clients) leaves only the maxcount bound
    const dircount = args.u32() || Infinity;
    const maxcount = Math.min(args.u32(), RTMAX);
    const start = out.length;
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const listing = await fs.readdir(dir, cookie, verf, credOf(ctx));
      if (DIRLIST_OVERHEAD > maxcount) {
        out.u32(NfsStatus.TOOSMALL);
        writePostOpAttr(out, listing.dir);
        return;
      }
      out.u32(NfsStatus.OK);
      writePostOpAttr(out, listing.dir);
      out.fixed(listing.verf);
      const it = listing.entries;
      let used = DIRLIST_OVERHEAD;
      let dirUsed = 0;
      let n = 0;
      let eof = false;
      for (;;) {
        const next = it.next();
        if (next.done) { eof = true; break; }
        const e = next.value;
        const name = Buffer.from(e.name, 'utf8');
        const dirSize = 8 + xdrOpaqueSize(name.length) + 8; // fileid + name + cookie
        if (dirUsed + dirSize > dircount) break;
        const attrs = optional(e, getAttrs);
        const fh = optional(e, getFh);
        // entryplus3: value-follows + dir part + post_op_attr + post_op_fh3
        const size = 4 + dirSize + 4 + (attrs ? FATTR3_SIZE : 0) + 4 + (fh ? xdrOpaqueSize(fh.length) : 0);
        if (used + size > maxcount) break;
        used += size;
        dirUsed += dirSize;
        out.u32(1);
        out.u64(e.fileid);
        out.opaque(name);
        out.u64(e.cookie);
        writePostOpAttr(out, attrs);
        if (fh) { out.u32(1); out.opaque(fh); } else out.u32(0);
        n++;
      }
      if (!eof) it.return?.();
      if (n === 0 && !eof) {
        out.truncate(start);
        out.u32(NfsStatus.TOOSMALL);
        writePostOpAttr(out, listing.dir);
        return;
      }
      out.u32(0);
      out.bool(eof);
    } catch (e) {
      out.truncate(start);
      const status = statusOf(e, log, 'READDIRPLUS', ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writePostOpAttr(out, after); // READDIRPLUS3resfail: dir_attributes
    }
  };
}
