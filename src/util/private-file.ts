// Small files the data directory must never hold torn: the handle secret and the node id.
// A first write cut short by a crash (empty or short file) would otherwise be used as is:
// an empty HMAC key makes every file handle forgeable (issue 8 item 15).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The content of `file` if `valid` accepts it; otherwise `make()` is written atomically (a
 * temporary file, fsync, then link (when absent) or rename (when torn) over it, fsync of
 * the directory) with mode 0600, and returned. If another process creates a valid file first,
 * that one wins. `onReplace` hears about a torn file being replaced.
 */
export function readOrCreatePrivate(
  file: string,
  valid: (b: Buffer) => boolean,
  make: () => Buffer,
  onReplace?: (found: Buffer) => void,
): Buffer {
  let found: Buffer | null = null;
  try {
    found = fs.readFileSync(file);
    if (valid(found)) return found;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const data = make();
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (found === null) {
      try {
        fs.linkSync(tmp, file); // fails if another process created the file meanwhile
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return readOrCreatePrivate(file, valid, make, onReplace);
      }
    } else {
      onReplace?.(found);
      fs.renameSync(tmp, file);
    }
    fsyncDir(dir);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return data;
}
