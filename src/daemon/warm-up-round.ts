// One round of the start-up warm-up's calls (daemon/warm-up.ts): what a kernel client's clone, build or untar
// sends (docs/perf-notes.md, "branch work8": LOOKUP of names not there yet, CREATE and its SETATTR, WRITE
// FILE_SYNC and UNSTABLE + COMMIT, READDIRPLUS, GETATTR, ACCESS, READ, RENAME, REMOVE), plus the procedures a
// round of those leaves cold (READDIR, LINK, SYMLINK, READLINK, FSSTAT, FSINFO, PATHCONF), in one directory of
// a scratch session. Every argument is encoded as RFC 1813 section 3.3 gives it.
import type { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { NfsProc } from '../nfs/program.js';
import { NfsStatus } from '../core/attrs.js';

/** One NFSv3 call: procedure and arguments; resolves with the reader at the results (nfsstat3 first). */
export type NfsCall = (proc: number, args: (w: XdrWriter) => void) => Promise<XdrReader>;

/** files per round (a directory of this many) */
export const FILES = 500;
/** calls per file of a round (the per-file steps below), to size a round to the calls left */
export const CALLS_PER_FILE = 11;
/** files of a round that are also linked and symlinked (LINK, SYMLINK, READLINK, their REMOVE) */
const LINKED = 8;
/** WRITE sizes, in turn: a source tree's files, a few larger ones (a 1 MiB one every 100 files, below) */
const SIZES = [120, 900, 3000, 7000, 20_000, 65_536];
const BIG = 1 << 20;

const P = NfsProc;
const NOENT = NfsStatus.NOENT;

export interface Round {
  call: NfsCall;
  /** the session's root */
  root: Buffer;
  /** the round's directory name */
  name: string;
  /** files in it */
  files: number;
  /** calls in flight: 1 or 16 */
  qd: number;
  /** false once the warm-up's calls or time are spent */
  more: () => boolean;
  /** counts one call */
  count: () => void;
}

/** Runs one round; returns false if it stopped early (the budget), leaving files behind. */
export async function warmUpRound(r: Round): Promise<boolean> {
  const { call, root, more } = r;
  const data = Buffer.alloc(BIG, 'warm-up data\n');
  const one = async (proc: number, args: (w: XdrWriter) => void, what: string, status = 0): Promise<XdrReader> => {
    const rd = await call(proc, args);
    r.count();
    const s = rd.u32();
    if (s !== status) throw new Error(`${what}: nfsstat3 ${s}`);
    return rd;
  };
  const dirRes = await one(P.MKDIR, (w) => sattrMode(w.opaque(root).string(r.name), 0o755), 'MKDIR');
  if (!dirRes.u32()) throw new Error('MKDIR gave no handle');
  const dir = dirRes.opaque(64);
  const idx = Array.from({ length: r.files }, (_, i) => i);
  const fhs: Buffer[] = [];
  const size = (i: number) => (i % 100 === 99 ? BIG : SIZES[i % SIZES.length]!);
  const each = (items: number[], fn: (i: number) => Promise<unknown>) => eachOf(items, r.qd, more, fn);
  // a name not there yet (git's and tar's stat before open), then the CREATE (3.3.8): UNCHECKED, GUARDED,
  // EXCLUSIVE in turn; the kernel follows an EXCLUSIVE one with a SETATTR of mode and times (3.3.2)
  await each(idx, (i) => one(P.LOOKUP, (w) => w.opaque(dir).string(`f${i}`), 'LOOKUP', NOENT));
  await each(idx, async (i) => {
    const how = i % 3;
    const res = await one(
      P.CREATE,
      (w) => {
        w.opaque(dir).string(`f${i}`).u32(how);
        if (how === 2) w.fixed(Buffer.from([0, 0, 0, i & 0xff, 1, 2, 3, 4]));
        else sattrMode(w, 0o644);
      },
      'CREATE',
    );
    if (!res.u32()) throw new Error('CREATE gave no handle');
    fhs[i] = res.opaque(64);
  });
  // and the SETATTRs of `touch` (both times, no mode) and of a tool that sets the mtime alone: each set of
  // fields is an object shape of its own in the decoder and setAttributesNow (perf-notes, branch deopt11)
  await each(idx, (i) =>
    one(P.SETATTR, (w) => sattrTimes(w.opaque(fhs[i]!), i % 3 === 0 ? 0o644 | (i & 0o22) : -1, i % 3 !== 2).u32(0), 'SETATTR'),
  );
  // WRITE (3.3.7): FILE_SYNC (a file written in one go at close) and UNSTABLE, then COMMIT (3.3.21)
  await each(idx, (i) =>
    one(
      P.WRITE,
      (w) => {
        const n = size(i);
        w.opaque(fhs[i]!)
          .u64(0n)
          .u32(n)
          .u32(i % 2 === 0 ? 2 : 0);
        w.opaqueRef(data.subarray(0, n));
      },
      'WRITE',
    ),
  );
  await each(
    idx.filter((i) => i % 2 === 1),
    (i) => one(P.COMMIT, (w) => w.opaque(fhs[i]!).u64(0n).u32(0), 'COMMIT'),
  );
  if (!more()) return false;
  await readdir(one, dir, true, more);
  await readdir(one, dir, false, more);
  await each(idx, (i) => one(P.LOOKUP, (w) => w.opaque(dir).string(`f${i}`), 'LOOKUP'));
  await each(idx, (i) => one(P.GETATTR, (w) => w.opaque(fhs[i]!), 'GETATTR'));
  await each(idx, (i) => one(P.ACCESS, (w) => w.opaque(fhs[i]!).u32(0x3f), 'ACCESS'));
  // READ (3.3.6) of the whole file, as rsize allows (1 MiB)
  await each(idx, (i) => one(P.READ, (w) => w.opaque(fhs[i]!).u64(0n).u32(size(i)), 'READ'));
  await each(idx, (i) => one(P.RENAME, (w) => w.opaque(dir).string(`f${i}`).opaque(dir).string(`g${i}`), 'RENAME'));
  if (!more()) return false;
  const linked = idx.slice(0, LINKED);
  await each(linked, (i) => one(P.LINK, (w) => w.opaque(fhs[i]!).opaque(dir).string(`l${i}`), 'LINK'));
  const links: Buffer[] = [];
  await each(linked, async (i) => {
    const res = await one(P.SYMLINK, (w) => sattrMode(w.opaque(dir).string(`s${i}`), 0o777).string(`g${i}`), 'SYMLINK');
    if (!res.u32()) throw new Error('SYMLINK gave no handle');
    links[i] = res.opaque(64);
  });
  await each(linked, (i) => one(P.READLINK, (w) => w.opaque(links[i]!), 'READLINK'));
  // a file renamed over another (git's lock files, an editor's save), one of whose names is a link
  await each(linked, (i) => one(P.CREATE, (w) => sattrMode(w.opaque(dir).string(`t${i}`).u32(0), 0o644), 'CREATE'));
  await each(linked, (i) => one(P.RENAME, (w) => w.opaque(dir).string(`t${i}`).opaque(dir).string(`g${i}`), 'RENAME'));
  for (const proc of [P.FSSTAT, P.FSINFO, P.PATHCONF]) if (more()) await one(proc, (w) => w.opaque(root), 'FSSTAT/FSINFO/PATHCONF');
  await each(linked, (i) => one(P.REMOVE, (w) => w.opaque(dir).string(`l${i}`), 'REMOVE'));
  await each(linked, (i) => one(P.REMOVE, (w) => w.opaque(dir).string(`s${i}`), 'REMOVE'));
  await each(idx, (i) => one(P.REMOVE, (w) => w.opaque(dir).string(`g${i}`), 'REMOVE'));
  if (!more()) return false;
  await one(P.RMDIR, (w) => w.opaque(root).string(r.name), 'RMDIR');
  return true;
}

/** fn over items, at most qd at a time, while more() holds. */
async function eachOf<T>(items: T[], qd: number, more: () => boolean, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && more()) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(qd, items.length) }, worker));
}

type One = (proc: number, args: (w: XdrWriter) => void, what: string) => Promise<XdrReader>;

/** READDIRPLUS (3.3.17, replies of at most 8 KiB) or READDIR (3.3.16, 4 KiB) of a whole directory. */
async function readdir(one: One, dir: Buffer, plus: boolean, more: () => boolean): Promise<void> {
  let cookie = 0n;
  let verf: Buffer = Buffer.alloc(8);
  for (let eof = false; !eof && more();) {
    const r = plus
      ? await one(P.READDIRPLUS, (w) => w.opaque(dir).u64(cookie).fixed(verf).u32(4096).u32(8192), 'READDIRPLUS')
      : await one(P.READDIR, (w) => w.opaque(dir).u64(cookie).fixed(verf).u32(4096), 'READDIR');
    skipPostOpAttr(r);
    verf = r.fixed(8);
    while (r.bool()) {
      r.u64(); // fileid
      r.string(255);
      cookie = r.u64();
      if (plus) {
        skipPostOpAttr(r);
        if (r.bool()) r.opaque(64);
      }
    }
    eof = r.bool();
  }
}

/** post_op_attr: a fattr3 (84 bytes) if it follows. */
function skipPostOpAttr(r: XdrReader): void {
  if (r.bool()) r.skip(84);
}

/** sattr3 (RFC 1813 2.5.3): mode set, nothing else. */
export function sattrMode(w: XdrWriter, mode: number): XdrWriter {
  return w.u32(1).u32(mode).u32(0).u32(0).u32(0).u32(0).u32(0);
}

/** sattr3: mode (unless -1), atime (if `atime`) and mtime set to the client's time (SET_TO_CLIENT_TIME), as after
 *  an exclusive create (all three), a `touch` (both times) or a tool setting the mtime alone. */
function sattrTimes(w: XdrWriter, mode: number, atime = true): XdrWriter {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  const nsec = (now % 1000) * 1e6;
  if (mode >= 0) w.u32(1).u32(mode);
  else w.u32(0);
  w.u32(0).u32(0).u32(0);
  if (atime) w.u32(2).u32(sec).u32(nsec);
  else w.u32(0);
  return w.u32(2).u32(sec).u32(nsec);
}
