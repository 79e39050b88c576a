// fdatasync, inline or on the thread pool. On tmpfs/ramfs fdatasync has nothing to do and
// costs ~2 us inline against ~100 us through the pool, so it runs inline there; on a disk
// it goes to the pool so the event loop keeps serving other calls meanwhile.
import fs from 'node:fs';

const MEMORY_FS = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

export function isMemoryFs(dir: string): boolean {
  try { return MEMORY_FS.has(fs.statfsSync(dir).type); } catch { return false; }
}

export function fdatasync(fd: number, inline: boolean): Promise<void> {
  if (inline) {
    try { fs.fdatasyncSync(fd); return Promise.resolve(); } catch (e) { return Promise.reject(e); }
  }
  return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
}
