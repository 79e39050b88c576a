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
