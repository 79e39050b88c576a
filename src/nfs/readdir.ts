// NFSPROC3_READDIR (RFC 1813 3.3.16). `count` bounds the encoded READDIR3resok (we also
// count the status word); entries are taken lazily from the listing, so a page costs O(page).
import type { Handler } from '../../rpc/handler.js';
import { NfsStatus } from '../fs/file-system.js';
import { nfsProcedure, postOpAttrArm, RTMAX, type NfsDeps } from './common.js';
import { FATTR3_SIZE, readFh, utf8Length, writePostOpAttr } from './xdr-types.js';

export const COOKIEVERFSIZE = 8;

/** status + post_op_attr + cookieverf3 + end-of-list marker + eof. */
export const DIRLIST_OVERHEAD = 4 + 4 + FATTR3_SIZE + COOKIEVERFSIZE + 4 + 4;

/** XDR size of an opaque/string body of n bytes, length word included. */
export function xdrOpaqueSize(n: number): number {
  return 4 + ((n + 3) & ~3);
}

export function readdir(deps: NfsDeps): Handler {
  return nfsProcedure(deps, {
    name: 'READDIR',
    decode: (args) => ({ dir: readFh(args), cookie: args.u64(), verf: args.fixed(COOKIEVERFSIZE), count: Math.min(args.u32(), RTMAX) }),
    handles: (a) => [a.dir],
    async run({ args: { cookie, verf, count }, fh: dir, fs, cred, out }) {
      const start = out.length;
      const listing = await fs.readdir(dir, cookie, verf, cred);
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
        if (next.done) {
          eof = true;
          break;
        }
        const e = next.value;
        const name = e.name;
        const nameBytes = utf8Length(name);
        // entry3: value-follows + fileid + name + cookie
        const size = 4 + 8 + xdrOpaqueSize(nameBytes) + 8;
        if (used + size > count) break;
        used += size;
        out.u32(1);
        out.u64(e.fileid);
        out.stringBytes(name, nameBytes);
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
    },
    fail: postOpAttrArm, // READDIR3resfail: dir_attributes
  });
}
