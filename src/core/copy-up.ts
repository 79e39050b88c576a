// Copy-up: the first change to a base file copies its content into the session's data files,
// chunk by chunk for a chunked blob. Concurrent changes of one file share one copy.
import { FsError, NfsStatus } from './attrs.js';
import type { Inode } from './inode.js';
import type { ContentSource } from './content-source.js';
import type { DataFiles } from './data-files.js';

/** What copy-up needs of the session state (session-state.ts). */
export interface CopyUpTarget {
  readonly source: ContentSource;
  readonly data: DataFiles;
  syncData(ino: number): Promise<void>;
}

export class CopyUp {
  private readonly copying = new Map<number, Promise<void>>();

  constructor(private readonly s: CopyUpTarget) {}

  /**
   * Makes n's content local; undefined when that is done (or was), else a promise of it. A file of no content on a
   * memory filesystem (a new file's first WRITE: every file of an untar) is made local at once: the data file's
   * sync has nothing to make durable there (its bytes live in memory only, and a SIGKILL keeps them as it keeps
   * any written byte), so no sync, no promise.
   */
  makeLocal(n: Inode): Promise<void> | undefined {
    if (n.local) return undefined;
    let p = this.copying.get(n.ino);
    if (!p) {
      if (!n.blob && this.s.data.inMemory) {
        this.s.data.create(n.ino);
        n.local = true;
        return undefined;
      }
      p = this.copy(n).finally(() => this.copying.delete(n.ino));
      this.copying.set(n.ino, p);
    }
    return p;
  }

  private async copy(n: Inode): Promise<void> {
    const { source } = this.s;
    const data = this.s.data;
    const hash = n.blob;
    const chunks = hash ? await source.blobChunks(hash, n.size) : null;
    if (!hash || !chunks) {
      const content = hash ? await source.getBlob(hash) : undefined;
      if (n.local) return;
      data.create(n.ino, content);
    } else {
      let off = 0;
      for (const c of chunks) {
        const part = await source.readBlob(hash, off, c.length);
        if (n.local) return; // truncated to zero meanwhile: the data file is no longer ours to fill
        if (part.length !== c.length) throw new FsError(NfsStatus.IO, `short read of blob ${hash}`);
        if (off === 0) data.create(n.ino);
        data.write(n.ino, off, part);
        off += part.length;
      }
    }
    // durable before any journal record can say the content is local
    await this.s.syncData(n.ino);
    n.local = true;
    n.blob = null;
  }
}
