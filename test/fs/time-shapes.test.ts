// Issue 10 (branch shape10): the times a session keeps (nfstime3, { sec, nsec }) share one V8 hidden class
// whatever the seconds. A second of 2^31 or more (a time after 2038-01-19: `touch -d 2040`, an archive's odd
// mtime, sent as SET_TO_CLIENT_TIME) is not a small integer (Smi) to V8; stored into an object literal made for
// the server clock's times, it replaced the literal's hidden class, and every time made before (the clock's,
// the base tree's, the journal's) kept the old one while every later one got the new (as sizes did, branch
// create9: test/fs/attr-shapes.test.ts). Checked with V8's %HaveSameMap on the times a real SessionFs on a
// real store answers, with the client's time decoded by the NFS program's own sattr3 decoder, before and
// after a 2040 SETATTR and after the session is opened again from its journal. Fails with the literals
// (now(), fromPair() of src/core/time.ts, readTime() of src/nfs/xdr-types.ts, the journal codec's inode).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import type { SessionFs } from '../../src/fs/session-fs.js';
import { scratchSession, type ScratchSession } from './scratch-session.js';
import type { Cred, NfsTime } from '../../src/fs/file-system.js';
import { readSattr, readTime } from '../../src/nfs/xdr-types.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';

v8.setFlagsFromString('--allow-natives-syntax');
// parsed after the flag is set: a V8 intrinsic, not a property access
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

const root: Cred = { uid: 0, gid: 0, gids: [] };
/** 2040-01-01T00:00:00Z: above V8's Smi range (2^31 - 1), so a HeapNumber */
const Y2040 = 2_208_988_800;

let scratch: ScratchSession;
const open = (): Promise<SessionFs> => scratch.open();

/** SETATTR's sattr3 (RFC 1813 2.6) as a client sends it: atime and mtime SET_TO_CLIENT_TIME, through the
 *  NFS program's decoder. */
function clientTimes(sec: number, nsec: number): ReturnType<typeof readSattr> {
  const w = new XdrWriter();
  w.u32(0).u32(0).u32(0).u32(0); // mode, uid, gid, size: not set
  w.u32(2).u32(sec).u32(nsec); // atime
  w.u32(2)
    .u32(sec)
    .u32(nsec + 1); // mtime
  return readSattr(new XdrReader(w.toBuffer()));
}

beforeEach(async () => {
  scratch = await scratchSession('micfs-time-shapes-', 22n);
});

afterEach(() => {
  scratch.remove();
});

describe('times after 2038', () => {
  it("a client's 2040 time, the server clock's, the base tree's and the journal's share one hidden class", async () => {
    expect(sameMap({ x: 1 }, { x: 1 })).toBe(true); // the intrinsic works here
    let sfs = await open();
    const dir = sfs.rootHandle();
    // times made before any time after 2038: the base file's (its tree's mtime), a CREATE's (the clock)
    const baseFile = await sfs.lookup(dir, 'a.txt', root);
    const early = await sfs.create(dir, 'early', { kind: 'guarded', attrs: {} }, root);
    const small: NfsTime = readTime(new XdrReader(new XdrWriter().u32(1_700_000_000).u32(5).toBuffer()));

    const set = clientTimes(Y2040, 7);
    const wcc = await sfs.setattr(early.fh, set, null, root);
    const later = await sfs.create(dir, 'later', { kind: 'guarded', attrs: {} }, root);
    const baseAfter = await sfs.getattr(baseFile.node.fh);

    const t2040 = wcc.after!.mtime;
    expect(t2040.sec).toBe(Y2040);
    expect(t2040.nsec).toBe(8);
    expect(wcc.after!.atime.sec).toBe(Y2040);
    // the client's time against the clock's (before and after it), the base tree's and a decoded small one
    expect(sameMap(early.attrs.mtime, t2040)).toBe(true);
    expect(sameMap(early.attrs.mtime, later.attrs.mtime)).toBe(true);
    expect(sameMap(baseFile.node.attrs.mtime, t2040)).toBe(true);
    expect(sameMap(baseAfter.mtime, later.attrs.ctime)).toBe(true);
    expect(sameMap(small, t2040)).toBe(true);
    // the wcc_attr's times (pre-op: the CREATE's clock time) and the directory's
    expect(sameMap(wcc.before!.mtime, t2040)).toBe(true);
    expect(sameMap(later.dir.after!.mtime, t2040)).toBe(true);

    // the same session opened again: its inodes' times come from the journal
    sfs.close();
    sfs = await open();
    try {
      const again = await sfs.getattr(early.fh);
      const again2 = await sfs.getattr(later.fh);
      expect(again.mtime.sec).toBe(Y2040);
      expect(again.mtime.nsec).toBe(8);
      expect(again2.mtime).toEqual(later.attrs.mtime);
      expect(sameMap(again.mtime, t2040)).toBe(true);
      expect(sameMap(again2.mtime, t2040)).toBe(true);
      const fresh = await sfs.create(sfs.rootHandle(), 'fresh', { kind: 'guarded', attrs: {} }, root);
      expect(sameMap(fresh.attrs.ctime, again.mtime)).toBe(true);
    } finally {
      sfs.close();
    }
  });
});
