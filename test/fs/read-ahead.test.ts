// Read-ahead of sequentially read data files (src/core/read-ahead.ts) on real files: a piece is read ahead
// only after two large reads in a row, is what the next read gets, and anything that changes the file
// (write, truncate, re-create, removal) through DataFiles drops it. A change made behind DataFiles' back
// shows which bytes came from the read-ahead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DataFiles, type Chunk } from '../../src/core/data-files.js';
import { seeded } from '../store/seeded.js';

const K = 256 * 1024;
const SIZE = 8 * K;
const content = seeded(SIZE, 7);
let dir: string;
let data: DataFiles;
const ino = 5;
const idle = (): Promise<void> => new Promise((r) => setImmediate(r));
/** the event loop has run the read-ahead scheduled by the last read */
const settled = async (): Promise<void> => {
  await idle();
  await idle();
  await data.readAheadIdle(); // the piece is read on the thread pool
};
/** a change the server did not make: only a piece read before it still has the old bytes */
const behindItsBack = (offset: number, bytes: Buffer): void => {
  const fd = fs.openSync(data.pathOf(ino), 'r+');
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  fs.closeSync(fd);
};
/** DataFiles.read with nothing being read ahead for it: answered at once */
const now = (r: Chunk | Promise<Chunk>): Chunk => {
  expect(r).not.toBeInstanceOf(Promise);
  return r as Chunk;
};
/** a read whose reply has gone out (what a READ does once it is sent) */
const read = (offset: number, size = SIZE): Buffer => {
  const r = now(data.read(ino, offset, K, size));
  const copy = Buffer.from(r.data);
  data.sent();
  return copy;
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'micfs-read-ahead-'));
  data = new DataFiles(path.join(dir, 'files'));
  data.create(ino, content);
});
afterEach(() => {
  data.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('read-ahead of data files', () => {
  it('after two sequential reads the next piece is read ahead and served to the next read', async () => {
    expect(read(0).equals(content.subarray(0, K))).toBe(true);
    expect(read(K).equals(content.subarray(K, 2 * K))).toBe(true);
    await settled();
    behindItsBack(2 * K + 10, Buffer.from('changed'));
    const r = now(data.read(ino, 2 * K, K, SIZE));
    expect(r.pooled).toBeDefined();
    expect(r.data.equals(content.subarray(2 * K, 3 * K))).toBe(true); // read before the change
    data.sent();
    // and the stream goes on: the piece after it is read ahead too
    await settled();
    behindItsBack(3 * K, Buffer.from('later'));
    expect(read(3 * K).equals(content.subarray(3 * K, 4 * K))).toBe(true);
  });

  it('nothing is read ahead before the reply has been sent', async () => {
    read(0);
    data.read(ino, K, K, SIZE);
    await settled();
    behindItsBack(2 * K, Buffer.from('fresh'));
    expect(
      read(2 * K)
        .subarray(0, 5)
        .toString(),
    ).toBe('fresh');
  });

  it('random reads are not read ahead', async () => {
    read(0);
    read(4 * K);
    await settled();
    behindItsBack(5 * K, Buffer.from('fresh'));
    expect(
      read(5 * K)
        .subarray(0, 5)
        .toString(),
    ).toBe('fresh');
  });

  it('a write through DataFiles drops the piece read ahead', async () => {
    read(0);
    read(K);
    await settled();
    data.write(ino, 2 * K + 100, Buffer.from('written'));
    expect(
      read(2 * K)
        .subarray(100, 107)
        .toString(),
    ).toBe('written');
  });

  it('a truncate drops it, and nothing is read ahead past the end', async () => {
    read(0);
    read(K);
    await settled();
    data.truncate(ino, 2 * K + 1000);
    await data.freed(ino); // a cut of 1.5 MiB: the file shrinks on the thread pool (DataFiles.shrink)
    const r = now(data.read(ino, 2 * K, K, 2 * K + 1000));
    expect(r.data.length).toBe(1000);
    expect(r.data.equals(content.subarray(2 * K, 2 * K + 1000))).toBe(true);
  });

  it('re-creating the file drops it', async () => {
    read(0);
    read(K);
    await settled();
    data.create(ino, Buffer.alloc(SIZE, 1));
    expect(read(2 * K).equals(Buffer.alloc(K, 1))).toBe(true);
  });

  it('removing the file drops it and reads nothing more of it', async () => {
    read(0);
    read(K);
    data.remove(ino); // before the read-ahead ran: it must not re-create the file
    await settled();
    expect(fs.existsSync(data.pathOf(ino))).toBe(false);
  });

  it('a read of another file in between does not get the piece', async () => {
    data.create(6, Buffer.alloc(SIZE, 2));
    read(0);
    read(K);
    await settled();
    expect(Buffer.from(now(data.read(6, 2 * K, K, SIZE)).data).equals(Buffer.alloc(K, 2))).toBe(true);
  });

  it('a piece nobody asks for is given back after 2 s; a newer one is kept for its own 2 s (one timer)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      read(0);
      read(K);
      await settled(); // piece 2K read at t=0: the timer is armed for t=2000
      vi.advanceTimersByTime(1500);
      behindItsBack(2 * K, Buffer.from('one'));
      expect(read(2 * K).equals(content.subarray(2 * K, 3 * K))).toBe(true); // the piece
      await settled(); // piece 3K read at t=1500, kept until t=3500
      vi.advanceTimersByTime(600); // the timer fires at t=2000 and finds a newer piece: kept
      behindItsBack(3 * K, Buffer.from('two'));
      expect(read(3 * K).equals(content.subarray(3 * K, 4 * K))).toBe(true);
      await settled(); // piece 4K read at t=2100, kept until t=4100
      vi.advanceTimersByTime(2100);
      const now = Buffer.from('three');
      behindItsBack(4 * K, now);
      expect(
        read(4 * K)
          .subarray(0, now.length)
          .equals(now),
      ).toBe(true); // given back: read afresh
    } finally {
      vi.useRealTimers();
    }
  });

  it('a change made while the piece is being read on the thread pool throws the piece away', async () => {
    const block = (ms: number): void => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); // the event loop waits; the pool reads
    };
    const changes: [string, () => void, (got: Buffer) => boolean][] = [
      ['write', () => data.write(ino, 2 * K, Buffer.from('written')), (got) => got.subarray(0, 7).toString() === 'written'],
      ['truncate', () => data.truncate(ino, 2 * K + 3), (got) => got.length === 3],
      ['re-create', () => data.create(ino, Buffer.alloc(SIZE, 9)), (got) => got.equals(Buffer.alloc(K, 9))],
    ];
    for (const [what, change, seen] of changes) {
      data.create(ino, content);
      read(0);
      read(K); // its reply is sent: the piece at 2K is being read on the pool
      block(100); // long enough for the pool's pread to have read the old bytes, not for its callback to run
      change();
      await data.freed(ino); // the truncation's shrink, on the thread pool
      await settled();
      const r = now(data.read(ino, 2 * K, K, SIZE));
      expect(seen(Buffer.from(r.data)), what).toBe(true);
      data.sent();
      await settled();
    }
  });

  it('a read that comes while its piece is being read waits for it; a change meanwhile makes it read anew', async () => {
    const block = (ms: number): void => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    };
    read(0);
    read(K); // the piece at 2K is being read on the pool
    const waiting = data.read(ino, 2 * K, K, SIZE);
    expect(waiting).toBeInstanceOf(Promise); // its completion has not reached the event loop yet
    block(100); // the pool has read the old bytes
    behindItsBack(2 * K, Buffer.from('late')); // not through DataFiles: nothing is cancelled
    const got = await waiting;
    expect(got.pooled).toBeDefined();
    expect(got.data.equals(content.subarray(2 * K, 3 * K))).toBe(true); // the piece: one pread, not two
    data.sent();
    await settled();
    // the next piece (3K) is being read; a write through DataFiles cancels it, and the waiting read reads anew
    data.create(ino, content);
    read(0);
    read(K);
    const again = data.read(ino, 2 * K, K, SIZE);
    expect(again).toBeInstanceOf(Promise);
    block(100);
    data.write(ino, 2 * K, Buffer.from('written'));
    expect((await again).data.subarray(0, 7).toString()).toBe('written');
    data.sent();
    await settled();
  });
});
