// The file primitives LocalBackend stores objects and refs with: read a file or null when it is absent,
// create a new file without syncing it (a temp file, renamed into place later), and fsync a file or a
// directory (a rename is durable only once its directory is synced). Kept apart so the backend reads as
// layout and ordering, and so the durability steps are visible in one place.
import { open, readFile } from 'node:fs/promises';
import { isCode } from '../../util/errno.js';

/** The file's bytes, or null when it (or a directory on its path) does not exist. */
export async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) return null;
    throw e;
  }
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
