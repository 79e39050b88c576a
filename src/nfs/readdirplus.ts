// NFSPROC3_READDIRPLUS (RFC 1813 3.3.17). `dircount` bounds the fileid + name + cookie
// bytes of the entries; `maxcount` bounds the encoded READDIRPLUS3resok (plus status).
import type { Handler } from '../../rpc/handler.js';
import { FsError, NfsStatus, type Attrs, type DirEntry } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, RTMAX, type NfsDeps } from './common.js';
import { COOKIEVERFSIZE, DIRLIST_OVERHEAD, xdrOpaqueSize } from './readdir.js';
import { FATTR3_SIZE, readFh, writePostOpAttr } from './xdr-types.js';

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

export function readdirplus(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'READDIRPLUS',
    decode: (args) => ({
      dir: readFh(args),
      cookie: args.u64(),
      verf: args.fixed(COOKIEVERFSIZE),
      // dircount 0 (sent by some clients) leaves only the maxcount bound
      dircount: args.u32() || Infinity,
      maxcount: Math.min(args.u32(), RTMAX),
    }),
    handles: (a) => [a.dir],
    async run({ args: { cookie, verf, dircount, maxcount }, fh: dir, fs, cred, out }) {
      const start = out.length;
      const listing = await fs.readdir(dir, cookie, verf, cred);
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
        if (next.done) {
          eof = true;
          break;
        }
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
        if (fh) {
          out.u32(1);
          out.opaque(fh);
        } else out.u32(0);
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
    },
    fail: postOpAttrArm, // READDIRPLUS3resfail: dir_attributes
  });
}
