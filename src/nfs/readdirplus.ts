// NFSPROC3_READDIRPLUS (RFC 1813 3.3.17). `dircount` bounds the directory information of the entries
// (fileid + name + cookie bytes); `maxcount` bounds the encoded READDIRPLUS3resok (plus status).
import type { Handler } from '../../rpc/handler.js';
import { FsError, NfsStatus, type Attrs, type DirEntry } from '../fs/file-system.js';
import { syntheticListing } from '../fs/dir-listing.js';
import { XdrWriter } from '../../rpc/xdr.js';
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
      const { n, eof } = writeEntries(out, it, dircount, maxcount);
      if (!eof) {
        it.return?.();
        scheduleWarmUp(); // a directory of more than a page: more listings like it are likely (see warmUp)
      }
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

/**
 * Encodes entryplus3 items taken from `it` while they fit: RFC 1813 3.3.17's dircount is "the maximum number
 * of bytes of directory information returned", not counting attributes and handle; only maxcount "must include
 * all XDR overhead". So dircount counts an entry's fileid, name and cookie (8 + name bytes + 8); the name's
 * length word and padding, the value-follows word, attributes and handle count against maxcount, which starts
 * with DIRLIST_OVERHEAD used. `eof`: the listing ended.
 */
export function writeEntries(out: XdrWriter, it: Iterator<DirEntry>, dircount: number, maxcount: number): { n: number; eof: boolean } {
  let used = DIRLIST_OVERHEAD;
  let dirUsed = 0;
  let n = 0;
  for (;;) {
    const next = it.next();
    if (next.done) return { n, eof: true };
    const e = next.value;
    const name = e.name;
    const nameBytes = utf8Length(name);
    const dirSize = 8 + nameBytes + 8;
    if (dirUsed + dirSize > dircount) return { n, eof: false };
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
    if (used + size > maxcount) return { n, eof: false };
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
}

// ---------------------------------------------------------------- JIT warm-up
// The first listings of large directories a daemon serves ran in V8's interpreter while the compiler caught up:
// about three listings of 2,000 entries cost 3-8x the server CPU of a later one (main thread 7-12 ms instead of
// ~3, the compile threads ~15 ms more; docs/perf-notes.md, "Read side, second round"). So the first READDIRPLUS
// page that does not reach the end of its directory starts a warm-up: synthetic listings through the same
// Listing, Entry, Inode and encoder code, one page per event-loop turn (a call waits ~1-4 ms at most), until
// WARM_ENTRIES entries have been encoded. Nothing of it is kept or sent. A daemon that never lists a large
// directory never pays for it (~60-90 ms of CPU once).

const WARM_ENTRIES = 8192;
const WARM_DIR = 2048;
let warmState: 'no' | 'running' | 'done' = 'no';

/** One page of the warm-up; returns the cookie to go on from, 0 at the end of the synthetic directory. */
function warmPage(dir: ReturnType<typeof syntheticListing>, cookie: number): number {
  const listing = dir.listing(cookie);
  const out = new XdrWriter(256);
  writePostOpAttr(out, listing.dir);
  const { n, eof } = writeEntries(out, listing.entries, 8192, 65536);
  // the synthetic directory's cookies run 1 (.), 2 (..), 3.. in order with nothing removed
  return eof || n === 0 ? 0 : cookie + n;
}

/** Whether the warm-up has not started, is running or is done (tests). */
export function warmUpState(): 'no' | 'running' | 'done' {
  return warmState;
}

/** The whole warm-up at once (tests); returns the pages encoded. */
export function warmUp(): number {
  const dir = syntheticListing(WARM_DIR);
  let pages = 0;
  for (let done = 0; done < WARM_ENTRIES; done += WARM_DIR) {
    let cookie = 0;
    do {
      cookie = warmPage(dir, cookie);
      pages++;
    } while (cookie !== 0);
  }
  return pages;
}

function scheduleWarmUp(): void {
  if (warmState !== 'no') return;
  warmState = 'running';
  const dir = syntheticListing(WARM_DIR);
  let cookie = 0;
  let passes = 0;
  const step = (): void => {
    cookie = warmPage(dir, cookie);
    if (cookie === 0 && ++passes * WARM_DIR >= WARM_ENTRIES) {
      warmState = 'done';
      return;
    }
    setImmediate(step).unref();
  };
  setImmediate(step).unref();
}
