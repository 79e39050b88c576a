// Issue 10 (branch create9): the attribute records a session makes for every call keep one V8 hidden class
// whatever the numbers in them. A size of 2 GiB or more is not a small integer (Smi) to V8; when such a size
// first went into an object literal made for smaller ones, the literal's hidden class was replaced and the
// code compiled for it (fattr3, wcc and CREATE reply encoders, the journal's inode encoder) was thrown away
// again and again for the rest of the daemon's life. Checked with V8's %HaveSameMap on the objects a real
// SessionFs answers (CREATE, WRITE, GETATTR) and on the journal's inode states, before and after a WRITE
// at 3 GiB. Fails with the object literals (attrs(), wcc(), state() of src/core/inode.ts before the change).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import type { SessionFs } from '../../src/fs/session-fs.js';
import { scratchSession, type ScratchSession } from './scratch-session.js';
import { StableHow, type Cred } from '../../src/fs/file-system.js';
import { FileType } from '../../src/core/attrs.js';
import { Inode } from '../../src/core/inode.js';

v8.setFlagsFromString('--allow-natives-syntax');
// parsed after the flag is set: a V8 intrinsic, not a property access
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

const root: Cred = { uid: 0, gid: 0, gids: [] };
/** 3 GiB: above V8's Smi range (2^31 - 1), so a HeapNumber */
const BIG = 3 * 2 ** 30;

let scratch: ScratchSession;
let sfs: SessionFs;

beforeEach(async () => {
  scratch = await scratchSession('micfs-shapes-', 21n);
  sfs = await scratch.open();
});

afterEach(async () => {
  await sfs.close();
  scratch.remove();
});

describe('attribute records and file sizes beyond 2 GiB', () => {
  // first: a hidden class, once replaced, stays replaced for the rest of the file's tests
  it("the journal's inode states of small and large files share one hidden class", () => {
    const t = { sec: 1_700_000_000, nsec: 0 };
    const inode = (ino: number, size: number): Inode =>
      Inode.fromState({
        ino,
        type: FileType.REG,
        mode: 0o644,
        uid: 0,
        gid: 0,
        nlink: 1,
        size,
        atime: t,
        mtime: t,
        ctime: t,
        blob: null,
        local: true,
        parent: 1,
        tree: null,
      });
    const a = inode(2, 10).state();
    const b = inode(3, BIG).state();
    const c = inode(4, 20).state();
    expect(b.size).toBe(BIG);
    expect(sameMap(a, b)).toBe(true);
    expect(sameMap(a, c)).toBe(true);
  });

  it('fattr3 and wcc_attr records of small and large files share one hidden class', async () => {
    expect(sameMap({ x: 1 }, { x: 1 })).toBe(true); // the intrinsic works here
    const dir = sfs.rootHandle();
    const small = await sfs.create(dir, 'small', { kind: 'guarded', attrs: {} }, root);
    const big = await sfs.create(dir, 'big', { kind: 'guarded', attrs: {} }, root);
    await sfs.write(big.fh, 0, Buffer.from('x'), StableHow.UNSTABLE, root);
    const first = await sfs.write(big.fh, BIG, Buffer.from('y'), StableHow.UNSTABLE, root);
    const second = await sfs.write(big.fh, BIG + 1, Buffer.from('z'), StableHow.UNSTABLE, root);
    const bigAttrs = await sfs.getattr(big.fh);
    const later = await sfs.create(dir, 'later', { kind: 'guarded', attrs: {} }, root);

    expect(bigAttrs.size).toBe(BIG + 2);
    expect(second.wcc.before!.size).toBe(BIG + 1);
    // fattr3: a CREATE's before the large file, the large file's, a CREATE's after it
    expect(sameMap(small.attrs, bigAttrs)).toBe(true);
    expect(sameMap(small.attrs, later.attrs)).toBe(true);
    expect(sameMap(small.attrs, first.wcc.after!)).toBe(true);
    // wcc_attr: the directory's before the large file, the large file's, the directory's after it
    expect(sameMap(small.dir.before!, second.wcc.before!)).toBe(true);
    expect(sameMap(small.dir.before!, later.dir.before!)).toBe(true);
  });
});
