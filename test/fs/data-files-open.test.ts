// The open data files of a session (src/core/data-files.ts) on real files: at most 256 stay open, a file
// closed by eviction still reads back its bytes, and the bookkeeping of open order stays bounded when
// files are created and removed while few are open (an editor's save loop, a build's temporary files).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DataFiles, type Chunk } from '../../src/core/data-files.js';

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
