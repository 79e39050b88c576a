// The open data files of a session (src/core/data-files.ts) on real files: at most 256 stay open, a file
// closed by eviction still reads back its bytes, and the bookkeeping of open order stays bounded when
// files are created and removed while few are open (an editor's save loop, a build's temporary files); a
// truncation that frees much replaces the file, and a leased fd of the old one keeps reading it; create() of a
// data file that exists empties it without O_TRUNC.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DataFiles, REPLACE_MIN_FREED, type Chunk } from '../../src/core/data-files.js';
import { until } from '../lib/until.js';

let dir: string;
let data: DataFiles;
const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'micfs-data-files-'));
  data = new DataFiles(path.join(dir, 'files'));
});
afterEach(() => {
  data.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('keeps at most 256 files open; an evicted file reads back what was written', () => {
  const before = openFds();
  for (let ino = 1; ino <= 1000; ino++) data.create(ino, Buffer.from(`file ${ino}\n`));
  expect(openFds() - before).toBeLessThanOrEqual(256);
  for (const ino of [1, 2, 500, 999, 1000]) expect((data.read(ino, 0, 64) as Chunk).data.toString()).toBe(`file ${ino}\n`);
});

it('create and remove 20,000 times with one file open: the open-order list stays bounded', () => {
  data.create(1, Buffer.from('kept\n'));
  for (let ino = 2; ino < 20_002; ino++) {
    data.create(ino, Buffer.from('tmp\n'));
    data.remove(ino);
  }
  const order = (data as unknown as { order: number[]; head: number }).order;
  expect(order.length).toBeLessThanOrEqual(4 * 256 + 1);
  expect((data.read(1, 0, 64) as Chunk).data.toString()).toBe('kept\n');
  for (let ino = 30_000; ino < 30_300; ino++) data.create(ino, Buffer.from(`n ${ino}\n`)); // eviction still works after
  expect((data.read(30_000, 0, 64) as Chunk).data.toString()).toBe('n 30000\n');
  expect((data.read(1, 0, 64) as Chunk).data.toString()).toBe('kept\n');
});

it('a leased fd (a reply sending from the file) stays open and reads its file through eviction and removal', () => {
  data.create(1, Buffer.from('leased one\n'));
  data.create(2, Buffer.from('leased two\n'));
  const one = data.lease(1);
  const two = data.lease(2);
  const at = (fd: number): string => {
    const b = Buffer.alloc(64);
    return b.subarray(0, fs.readSync(fd, b, 0, 64, 0)).toString();
  };
  data.remove(2); // removed while leased: not closed yet
  // evicts 1 and opens hundreds of files after it: a closed fd would be reused by one of them
  for (let ino = 10; ino < 600; ino++) data.create(ino, Buffer.from(`other ${ino}\n`));
  expect(at(one.fd)).toBe('leased one\n');
  expect(at(two.fd)).toBe('leased two\n');
  const before = openFds();
  one.release();
  one.release(); // once only
  two.release();
  expect(openFds()).toBe(before - 2); // both closed by their last release
  expect((data.read(1, 0, 64) as Chunk).data.toString()).toBe('leased one\n'); // reopened on demand
});

it('a truncation that frees much replaces the file: a leased fd keeps the old bytes, freed on the pool once released', async () => {
  const big = Buffer.alloc(2 * REPLACE_MIN_FREED, 0x61);
  data.create(1, big);
  const lease = data.lease(1);
  const deleted = (): string[] =>
    fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === `${data.pathOf(1)} (deleted)`;
      } catch {
        return false; // closed meanwhile
      }
    });
  data.truncate(1, 0); // on a disk only a truncation to zero is replaced (nothing to copy, nothing to sync first)
  data.write(1, 0, Buffer.from('new'));
  expect(fs.readFileSync(data.pathOf(1), 'utf8')).toBe('new');
  expect(data.size(1)).toBe(3);
  // the old file: unnamed, still open for the lease, with all its bytes
  expect(deleted()).toHaveLength(1);
  const b = Buffer.alloc(big.length);
  expect(fs.readSync(lease.fd, b, 0, b.length, 0)).toBe(big.length);
  expect(b.equals(big)).toBe(true);
  lease.release();
  await until(() => deleted().length === 0); // emptied and closed on the thread pool
  expect(fs.readdirSync(path.dirname(data.pathOf(1)))).toEqual(['1']);
  // on a disk a truncation that keeps bytes shrinks in place (the same file), on the thread pool
  data.write(1, 0, big);
  const ino = fs.statSync(data.pathOf(1)).ino;
  data.truncate(1, 10);
  expect(() => data.write(1, 0, Buffer.from('x'))).toThrow(/being shrunk/); // callers wait: settled()
  await data.settled(1);
  expect(data.settled(1)).toBeUndefined();
  expect(data.size(1)).toBe(10);
  expect((data.read(1, 0, 64) as Chunk).data.equals(big.subarray(0, 10))).toBe(true);
  expect(fs.statSync(data.pathOf(1)).ino).toBe(ino);
});

it('on tmpfs a truncation that frees much and keeps up to 1 MiB replaces the file, the kept bytes copied', async () => {
  const shm = fs.mkdtempSync('/dev/shm/micfs-data-files-');
  const mem = new DataFiles(path.join(shm, 'files'));
  try {
    expect(mem.inMemory).toBe(true);
    const big = Buffer.alloc(4 * REPLACE_MIN_FREED);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
    mem.create(1, big);
    const inoOf = () => fs.statSync(mem.pathOf(1)).ino;
    const first = inoOf();
    mem.truncate(1, 1000);
    expect(inoOf()).not.toBe(first); // replaced
    expect(mem.size(1)).toBe(1000);
    expect((mem.read(1, 0, 4096) as Chunk).data.equals(big.subarray(0, 1000))).toBe(true);
    mem.write(1, 0, big);
    const second = inoOf();
    mem.truncate(1, 2 * REPLACE_MIN_FREED); // keeps more than 1 MiB: shrunk in place, on the thread pool
    await mem.freed(1);
    expect(inoOf()).toBe(second);
    expect(mem.size(1)).toBe(2 * REPLACE_MIN_FREED);
    mem.truncate(1, 10); // frees 2 MiB, keeps 10 bytes: replaced
    expect(inoOf()).not.toBe(second);
    expect((mem.read(1, 0, 64) as Chunk).data.equals(big.subarray(0, 10))).toBe(true);
    expect(fs.readdirSync(path.join(shm, 'files'))).toEqual(['1']);
  } finally {
    mem.close();
    fs.rmSync(shm, { recursive: true, force: true });
  }
});

it('create() of a data file that exists and is not open (another process, or a restart) empties it without O_TRUNC: a large one is replaced', async () => {
  const big = Buffer.alloc(2 * REPLACE_MIN_FREED, 0x62);
  data.create(1, big);
  data.create(2, Buffer.from('small'));
  data.close(); // nothing open: an open(O_TRUNC) would free the 2 MiB inside the open, on the event loop
  data = new DataFiles(path.join(dir, 'files'));
  const inoOf = (n: number) => fs.statSync(data.pathOf(n)).ino;
  const [first, second] = [inoOf(1), inoOf(2)];
  data.create(1, Buffer.from('new'));
  expect(inoOf(1)).not.toBe(first); // replaced; the old file emptied and closed on the thread pool
  await data.freed(1);
  expect(fs.readFileSync(data.pathOf(1), 'utf8')).toBe('new');
  data.create(2); // frees little: emptied in place
  expect(inoOf(2)).toBe(second);
  expect(data.size(2)).toBe(0);
  data.create(3, Buffer.from('fresh')); // a new one: made in one open
  expect(fs.readFileSync(data.pathOf(3), 'utf8')).toBe('fresh');
  expect(fs.readdirSync(path.join(dir, 'files')).sort()).toEqual(['1', '2', '3']);
});
