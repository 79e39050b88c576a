// NFSPROC3_READDIRPLUS (RFC 1813 3.3.17). `dircount` bounds the directory information of the entries
// (fileid + name + cookie bytes); `maxcount` bounds the encoded READDIRPLUS3resok (plus status).
import type { Handler } from '../../rpc/handler.js';
import { FsError, NfsStatus, type Attrs } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, RTMAX, type NfsDeps } from './common.js';
import { COOKIEVERFSIZE, DIRLIST_OVERHEAD, xdrOpaqueSize } from './readdir.js';
import { FATTR3_SIZE, readFh, utf8Length, writePostOpAttr } from './xdr-types.js';

/** An entry's attributes or handle may be gone by now (raced removal): then they are omitted. */
function vanished(err: unknown): null {
  if (err instanceof FsError) return null;
  throw err;
}

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
        const name = e.name;
        const nameBytes = utf8Length(name);
        // RFC 1813 3.3.17: dircount is "the maximum number of bytes of directory information returned",
        // not counting attributes and handle; only maxcount "must include all XDR overhead". So dircount
        // counts an entry's fileid, name and cookie (8 + name bytes + 8); the name's length word and
        // padding, the value-follows word, attributes and handle count against maxcount.
        const dirSize = 8 + nameBytes + 8;
        if (dirUsed + dirSize > dircount) break;
        let attrs: Attrs | null;
        let fh: Buffer | null;
        try {
          attrs = e.attrs();
        } catch (err) {
          attrs = vanished(err);
        }
        try {
          fh = e.fh();
        } catch (err) {
          fh = vanished(err);
        }
        // entryplus3: value-follows + dir part + post_op_attr + post_op_fh3
        const size = 4 + 8 + xdrOpaqueSize(nameBytes) + 8 + 4 + (attrs ? FATTR3_SIZE : 0) + 4 + (fh ? xdrOpaqueSize(fh.length) : 0);
        if (used + size > maxcount) break;
        used += size;
        dirUsed += dirSize;
        out.u32(1);
        out.u64(e.fileid);
        out.stringBytes(name, nameBytes);
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
