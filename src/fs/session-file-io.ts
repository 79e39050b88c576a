// READ, WRITE and COMMIT of a session's NFS adapter (SessionFs extends this class): a READ of a file in memory
// and an UNSTABLE WRITE to a local one are answered at once (no promise: the reply goes out in the turn that read
// the call); the others wait for the store, a copy-up, or their data and journal on stable storage.
import {
  FileType,
  FsError,
  NfsStatus,
  StableHow,
  type Cred,
  type ReadResult,
  type Wcc,
  type WccAttr,
  type WriteResult,
} from './file-system.js';
import type { Inode } from '../core/inode.js';
import * as edit from '../core/edits.js';
import { SessionHandles } from './session-handles.js';
import { killPriv, permBits } from './access.js';
import { readFile } from './file-read.js';

export class SessionFileIo extends SessionHandles {
  /** wcc data of n, named by the call's handle fh */
  protected wcc(before: WccAttr, n: Inode, fh: Buffer): Wcc {
    return { before, after: this.attrsVia(fh, n) };
  }

  /** The result at once for a file in memory whose bytes need no waiting for (readFile), else a promise; an
   *  error is always a rejected promise. */
  read(
    fh: Buffer,
    offset: number,
    count: number,
    cred: Cred,
    into?: (len: number) => Buffer,
    byFile?: boolean,
  ): ReadResult | Promise<ReadResult> {
    const of = (n: Inode): ReadResult | Promise<ReadResult> => {
      const r = readFile(this.state, n, offset, count, cred, this.o, into, byFile);
      if (r instanceof Promise) return r.then((x) => this.withAttrs(x, fh, n));
      return this.withAttrs(r, fh, n);
    };
    try {
      const n = this.inodeSync(fh);
      return n === null ? this.loadInode(fh).then(of) : of(n);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private withAttrs(r: ReadResult, fh: Buffer, n: Inode): ReadResult {
    r.attrs = this.attrsVia(fh, n);
    return r;
  }

  /** An UNSTABLE write to a file in memory whose content is local is made at once and answered at once (no
   *  promise: the reply goes out in the same turn); any other goes through mutate() (copy-up, data sync and
   *  journal for FILE_SYNC). An error is always a rejected promise. */
  write(fh: Buffer, offset: number, buf: Buffer, stable: StableHow, cred: Cred): WriteResult | Promise<WriteResult> {
    let n: Inode | null;
    try {
      n = this.inodeSync(fh);
      // (not while a cut shrinks its data file on the thread pool: writeData waits for that)
      if (n !== null && stable === StableHow.UNSTABLE && n.local && this.state.data.settled(n.ino) === undefined) {
        const x = n;
        return this.state.changeSync(() => {
          this.mayWrite(x, cred);
          const before = edit.writeUnstableNow(this.state, x, offset, buf);
          return { count: buf.length, committed: StableHow.UNSTABLE, wcc: this.wcc(before, x, fh) };
        });
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (n !== null) return this.writeOf(fh, n, offset, buf, stable, cred);
    return this.loadInode(fh).then((x) => this.writeOf(fh, x, offset, buf, stable, cred));
  }

  /** WRITE's permission check, and the setuid bit's clearing (journaled with the write's state). */
  private mayWrite(n: Inode, cred: Cred): void {
    if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
    if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
    // the owner may always write (as knfsd does for files created read-only)
    if (cred.uid !== n.uid && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
    // a write by non-root clears setuid (and setgid with group execute), as Linux's file_remove_privs
    const mode = killPriv(n.mode, n.type, cred);
    if (mode !== n.mode) {
      n.mode = mode;
      this.state.logInode(n);
    }
  }

  private writeOf(fh: Buffer, n: Inode, offset: number, buf: Buffer, stable: StableHow, cred: Cred): Promise<WriteResult> {
    return this.state.mutate(async () => {
      this.mayWrite(n, cred);
      // RFC 1813 3.3.7: FILE_SYNC and DATA_SYNC data is on stable storage before the reply
      const r = await edit.writeData(this.state, n, offset, buf, stable === StableHow.UNSTABLE ? StableHow.UNSTABLE : StableHow.FILE_SYNC);
      return { count: buf.length, committed: r.committed, wcc: this.wcc(r.before, n, fh) };
    });
  }

  async commit(fh: Buffer): Promise<Wcc> {
    const n = await this.inode(fh);
    return this.wcc(await edit.commitData(this.state, n), n, fh);
  }
}
