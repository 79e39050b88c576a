// readOrNull, the read of a loose object (a chunk of a landed file on the local backend): the file's exact
// bytes, null when absent, and one read(2) for a file of known size (fs.promises.readFile read 512 KiB at a
// time: 17 reads for an 8 MiB chunk, each a trip through the thread pool).
import * as fs from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOrNull, readWhole, type FileCalls } from '../../src/store/local-file-io.js';
import { tempDir } from '../session/helpers.js';
import { seeded } from './seeded.js';

describe('readOrNull', () => {
  it('reads files of any size exactly, and answers null for what is not a file', async () => {
    const dir = await tempDir('micfs-fileio-');
    for (const n of [0, 1, 4095, 512 * 1024, 512 * 1024 + 1, 3 * 1024 * 1024 + 5]) {
      const data = seeded(n, n % 7);
      writeFileSync(join(dir, `f${n}`), data);
      const got = await readOrNull(join(dir, `f${n}`));
      expect(got!.length).toBe(n);
      expect(got!.equals(data)).toBe(true);
    }
    expect(await readOrNull(join(dir, 'absent'))).toBeNull();
    expect(await readOrNull(join(dir, 'f1', 'under-a-file'))).toBeNull();
    mkdirSync(join(dir, 'sub'));
    expect(await readOrNull(join(dir, 'sub'))).toBeNull();
    // a file whose size fstat does not know is read to its end
    const status = (await readOrNull('/proc/self/status'))!.toString();
    expect(status).toMatch(/^Name:/);
    expect(status).toMatch(/VmRSS:/);
  });

  it('reads a file of known size with one read(2): open, fstat, read, close', async () => {
    const dir = await tempDir('micfs-fileio-');
    const data = seeded(8 * 1024 * 1024 + 3, 5);
    const path = join(dir, 'chunk');
    writeFileSync(path, data);
    const calls: string[] = [];
    const counted: FileCalls = {
      open: ((...a: Parameters<typeof fs.open>) => (calls.push('open'), (fs.open as (...x: unknown[]) => void)(...a))) as typeof fs.open,
      fstat: ((...a: Parameters<typeof fs.fstat>) => (
        calls.push('fstat'),
        (fs.fstat as (...x: unknown[]) => void)(...a)
      )) as typeof fs.fstat,
      read: ((...a: unknown[]) => (calls.push('read'), (fs.read as (...x: unknown[]) => void)(...a))) as typeof fs.read,
      close: ((...a: Parameters<typeof fs.close>) => (
        calls.push('close'),
        (fs.close as (...x: unknown[]) => void)(...a)
      )) as typeof fs.close,
    };
    expect((await readWhole(path, counted)).equals(data)).toBe(true);
    expect(calls).toEqual(['open', 'fstat', 'read', 'close']);
  });
});
