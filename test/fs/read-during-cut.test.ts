// A READ that waits for a piece being read ahead while another call cuts the file (RFC 1813 3.3.6: the data
// and eof of one state of the file). A cut that keeps more than 1 MiB shrinks the data file on the thread pool
// (DataFiles.shrink, branch trunc10); the inode has the new size at once, but the file keeps its old length
// until the pool's ftruncate runs. The waiting READ, whose read-ahead the cut cancelled, then reads for itself
// from a file that is still long: without clamping to the size it answers the old bytes past the new end with
// eof true (a mix of before and after, seen once in CI under load by test/nfs/read-large-in-place.test.ts).
// Here the order is forced by holding the two thread-pool calls (fs.read and fs.ftruncate wrapped): the
// read-ahead is on the pool, the READ waits for it, the cut starts, the read-ahead ends, the READ answers, and
// only then does the cut's ftruncate run. Fails without the clamp in src/fs/file-read.ts.
import fs from 'node:fs';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { SessionFs } from '../../src/fs/session-fs.js';
import { scratchSession, type ScratchSession } from './scratch-session.js';
import { StableHow, type Cred, type ReadResult } from '../../src/fs/file-system.js';
import { seeded } from '../store/seeded.js';

const MiB = 1024 * 1024;
const root: Cred = { uid: 0, gid: 0, gids: [] };
let scratch: ScratchSession;
let sfs: SessionFs;

beforeEach(async () => {
  // the data files on tmpfs where there is one (a cut keeping > 1 MiB shrinks on the pool there too)
  scratch = await scratchSession('micfs-read-cut-', 23n, fs.existsSync('/dev/shm') ? '/dev/shm' : undefined);
  sfs = await scratch.open();
});
afterEach(() => {
  vi.restoreAllMocks();
  sfs.close();
  scratch.remove();
});

/** a READ whose reply went out (its pooled buffer given back, which lets the next piece be read ahead) */
async function readSent(fh: Buffer, offset: number): Promise<Buffer> {
  const r = await sfs.read(fh, offset, MiB, root);
  const copy = Buffer.from(r.data);
  r.release?.();
  return copy;
}

it('a READ waiting for a read-ahead that a cut cancels answers the cut file: bytes up to the new end, eof', async () => {
  const content = seeded(3 * MiB + 2, 61);
  for (let round = 0; round < 3; round++) {
    const made = await sfs.create(sfs.rootHandle(), `f${round}`, { kind: 'unchecked', attrs: { mode: 0o644 } }, root);
    const fh = made.fh;
    for (let o = 0; o < content.length; o += MiB) await sfs.write(fh, o, content.subarray(o, o + MiB), StableHow.UNSTABLE, root);
    expect((await readSent(fh, 0)).equals(content.subarray(0, MiB))).toBe(true);
    // the read-ahead's read (fs.read on the pool, started when the second reply went) and the cut's ftruncate
    // on the pool (DataFiles.shrink) are held, so the order is: READ waits, cut starts, read-ahead ends
    const reads: (() => void)[] = [];
    const cuts: (() => void)[] = [];
    const realRead = fs.read;
    const realCut = fs.ftruncate;
    vi.spyOn(fs, 'read').mockImplementation(
      ((...a: Parameters<typeof fs.read>) => void reads.push(() => (realRead as (...x: unknown[]) => void)(...a))) as typeof fs.read,
    );
    vi.spyOn(fs, 'ftruncate').mockImplementation(
      ((fd: number, len: number, cb: fs.NoParamCallback) => void cuts.push(() => realCut(fd, len, cb))) as typeof fs.ftruncate,
    );
    expect((await readSent(fh, MiB)).equals(content.subarray(MiB, 2 * MiB))).toBe(true);
    expect(reads).toHaveLength(1); // the third piece is being read ahead
    const reading = sfs.read(fh, 2 * MiB, MiB, root);
    expect(reading).toBeInstanceOf(Promise); // the READ waits for it
    // each frees at least 1 MiB and keeps more: shrunk on the pool; the last one ends before the READ's offset
    const cut = [2 * MiB + 1, 2 * MiB + 3, 2 * MiB - 4_099][round]!;
    const cutting = sfs.setattr(fh, { size: cut }, null, root);
    while (cuts.length === 0) await new Promise((r) => setImmediate(r));
    vi.restoreAllMocks();
    reads.shift()!(); // the read-ahead ends (cancelled by the cut): the READ reads for itself, the cut still held
    const got: ReadResult = await reading;
    cuts.shift()!();
    await cutting;
    const data = Buffer.from(got.data);
    got.release?.();
    // one state of the file: before the cut (a full MiB, not at the end) or after it (up to the cut, the end)
    if (got.eof) expect(data.equals(content.subarray(2 * MiB, cut))).toBe(true);
    else expect(data.equals(content.subarray(2 * MiB, 3 * MiB))).toBe(true);
    expect(got.attrs.size).toBe(got.eof ? cut : content.length);
  }
});
