// The file primitives LocalBackend stores objects and refs with: read a file or null when it is absent,
// create a new file without syncing it (a temp file, renamed into place later), and fsync a file or a
// directory (a rename is durable only once its directory is synced). Kept apart so the backend reads as
// layout and ordering, and so the durability steps are visible in one place.
import * as fsCb from 'node:fs';
import { open } from 'node:fs/promises';
import { isCode } from '../../util/errno.js';

/** The file's bytes, or null when it (or a directory on its path) does not exist. */
export async function readOrNull(path: string, alloc?: Alloc): Promise<Buffer | null> {
  try {
    return await readWhole(path, fsCb, alloc);
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) return null;
    throw e;
  }
}

/** Where a read of n bytes goes (a pooled chunk buffer, chunk-pool.ts); Buffer.allocUnsafeSlow when absent. */
export type Alloc = (n: number) => Buffer;

/** The callback calls readWhole makes (node:fs; a test counts them). */
export type FileCalls = Pick<typeof fsCb, 'open' | 'fstat' | 'read' | 'close'>;

/**
 * The whole file as fs.promises.readFile reads it (fstat's size; a file whose size fstat does not know, read to
 * its end) in one read(2) for a file of known size: open, fstat, read, close on the thread pool, no FileHandle.
 * readFile reads 512 KiB at a time: a 1 MiB chunk of a landed blob cost it two more trips through the pool.
 */
export function readWhole(path: string, io: FileCalls = fsCb, alloc?: Alloc): Promise<Buffer> {
  const { close, fstat, read } = io;
  return new Promise((resolve, reject) => {
    io.open(path, 'r', (err, fd) => {
      if (err) return reject(err);
      const fail = (e: Error): void => close(fd, () => reject(e));
      fstat(fd, (err2, st) => {
        if (err2) return fail(err2);
        if (st.isDirectory())
          return fail(Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: 'EISDIR' }));
        const known = st.size > 0;
        let buf = known && alloc ? alloc(st.size) : Buffer.allocUnsafeSlow(known ? st.size : 64 * 1024);
        let got = 0;
        const done = (): void => close(fd, (err4) => (err4 ? reject(err4) : resolve(got === buf.length ? buf : buf.subarray(0, got))));
        const more = (): void => {
          if (got === buf.length) {
            const bigger = Buffer.allocUnsafeSlow(buf.length * 2); // size unknown: read on to the end
            buf.copy(bigger, 0, 0, got);
            buf = bigger;
          }
          read(fd, buf, got, buf.length - got, got, (err3, n) => {
            if (err3) return fail(err3);
            got += n;
            if (n === 0 || (known && got === st.size)) return done();
            more();
          });
        };
        more();
      });
    });
  });
}

/** A new file with data, not fsynced. */
export async function writeNew(path: string, data: Buffer): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** fsync of a file (opened r+) or a directory (opened r). */
export async function fsyncPath(path: string, flags = 'r'): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const fsyncFile = (path: string) => fsyncPath(path, 'r+');
export const fsyncDir = (dir: string) => fsyncPath(dir);
