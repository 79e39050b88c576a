// NFSPROC3_READDIR (RFC 1813 3.3.16). `count` bounds the encoded READDIR3resok (we also
// count the status word); entries are taken lazily from the listing, so a page costs O(page).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus, type FileSystem } from '../fs/types.js';
import { attrsAfterError, credOf, RTMAX, statusOf, type NfsDeps } from './common.js';
import { FATTR3_SIZE, readFh, writePostOpAttr } from './xdr-types.js';

export const COOKIEVERFSIZE = 8;

/** status + post_op_attr + cookieverf3 + end-of-list marker + eof. */
export const DIRLIST_OVERHEAD = 4 + 4 + FATTR3_SIZE + COOKIEVERFSIZE + 4 + 4;

/** XDR size of an opaque/string body of n bytes, length word included. */
export function xdrOpaqueSize(n: number): number {
  return 4 + ((n + 3) & ~3);
}

export function readdir({ exports, log }: NfsDeps): Handler {
  return async (args, out, ctx) => {
    const dir = readFh(args);
    const cookie = args.u64();
    const verf = args.fixed(COOKIEVERFSIZE);
    const count = Math.min(args.u32(), RTMAX);
    const start = out.length;
    let fs: FileSystem | undefined;
    try {
      fs = exports.resolve(dir);
      const listing = await fs.readdir(dir, cookie, verf, credOf(ctx));
      if (DIRLIST_OVERHEAD > count) {
        out.u32(NfsStatus.TOOSMALL);
        writePostOpAttr(out, listing.dir);
        return;
      }
      out.u32(NfsStatus.OK);
      writePostOpAttr(out, listing.dir);
      out.fixed(listing.verf);
      const it = listing.entries;
      let used = DIRLIST_OVERHEAD;
      let n = 0;
      let eof = false;
      for (;;) {
        const next = it.next();
        if (next.done) { eof = true; break; }
        const e = next.value;
        const name = Buffer.from(e.name, 'utf8');
        // entry3: value-follows + fileid + name + cookie
        const size = 4 + 8 + xdrOpaqueSize(name.length) + 8;
        if (used + size > count) break;
        used += size;
        out.u32(1);
        out.u64(e.fileid);
        out.opaque(name);
        out.u64(e.cookie);
        n++;
      }
      if (!eof) it.return?.();
      if (n === 0 && !eof) {
        // not even one entry fits
        out.truncate(start);
        out.u32(NfsStatus.TOOSMALL);
        writePostOpAttr(out, listing.dir);
        return;
      }
      out.u32(0);
      out.bool(eof);
    } catch (e) {
      out.truncate(start);
      const status = statusOf(e, log, 'READDIR', ctx);
      const after = await attrsAfterError(fs, dir, status);
      out.u32(status);
      writePostOpAttr(out, after); // READDIR3resfail: dir_attributes
    }
  };
}
