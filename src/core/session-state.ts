// The copy-on-write state of one session: its base tree (immutable, content-addressed) plus the session's
// own changes, kept in a journal and local data files. It knows nothing of NFS: the adapter in src/fs/
// (SessionFs) adds handles, permissions and wcc over it; sealing reads it through snapshot();
// the API edits it by path (path-edits.ts).
//
// Pieces: inode-table.ts (the inodes and listings, which this class extends), recovery.ts (checkpoint +
// journal replay), copy-up.ts (base file -> local data file), edits.ts (the changes), snapshot.ts (what
// sealing sees). Every change runs inside mutate(), which
// refuses changes while the session is frozen (JUKEBOX) or read-only (ROFS) and counts the changes in flight.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { FileType, FsError, NfsStatus, type NfsTime } from './attrs.js';
import { Inode, ROOT_INO } from './inode.js';
import type { Directory } from './directory.js';
import { InodeTable } from './inode-table.js';
import { Journal } from './journal.js';
import { DataFiles } from './data-files.js';
import { CopyUp } from './copy-up.js';
import { recover, writeCheckpoint } from './recovery.js';
import { fsErrorOf, isNoSpace, mkdirDurable, SyncError } from './durable.js';
import { now } from './time.js';
import { ChangeGate } from './change-gate.js';
import { SpaceWatch } from './space-watch.js';
import type { ContentSource } from './content-source.js';

export { ROOT_INO };
export const MAX_FILE_SIZE = 2 ** 40;
const CHECKPOINT_BYTES = 32 * 1024 * 1024;

/** The tree a session's state starts from (its base, or the tree it was handed off with). */
export interface StartTree {
  tree: string;
  nextIno: number;
}

export interface SessionStateOptions {
  /** the session's local directory (journal, checkpoint, data files) */
  dir: string;
  source: ContentSource;
  base: StartTree & { time: NfsTime };
  owner: { uid: number; gid: number };
  /** 8-byte write verifier (RFC 1813 3.3.7); replaced when uncommitted data may have been lost */
  writeVerifier: Buffer;
  log: Logger;
  readOnly?: boolean;
}

/** Attributes of a new object. */
export interface NewAttrs {
  mode: number;
  uid: number;
  gid: number;
}

export class SessionState extends InodeTable {
  nextIno: number;
  readonly journal: Journal;
  readonly data: DataFiles;
  readonly start: StartTree;
  readonly copyUp: CopyUp;
  /** Bumped on every change: the daemon's background sealer skips sessions whose count stands still. */
  generation = 0;
  /** Called once, on the next change (see onNextChange). */
  private nextChange: (() => void) | null = null;
  /** files written UNSTABLE since their last COMMIT */
  readonly unstable = new Set<Inode>();
  private closed = false;
  private readonly gate = new ChangeGate();
  private readonly space: SpaceWatch;
  private readonly sealedBlobs = new Map<number, { key: string; hash: string }>();
  /** data files of freed inodes: removed once the records that free them are durable (a crash before
   *  that brings the inode back, and it must still have its content) */
  private doomed: Inode[] = [];
  writeVerifier: Buffer;
  /** an fsync failed: the session is read-only from then on (see durable.ts) */
  failed: Error | null = null;

  private constructor(readonly o: SessionStateOptions) {
    super(o.source, o.owner, o.base);
    this.start = { tree: o.base.tree, nextIno: o.base.nextIno };
    this.nextIno = o.base.nextIno;
    this.writeVerifier = o.writeVerifier;
    this.data = new DataFiles(path.join(o.dir, 'files'));
    this.journal = new Journal(o.dir, 0);
    this.copyUp = new CopyUp(this);
    this.space = new SpaceWatch(o.dir, o.log);
  }

  /** Open a session's state, replaying its checkpoint and journal. */
  static async open(o: SessionStateOptions): Promise<SessionState> {
    mkdirDurable(o.dir);
    const s = new SessionState(o);
    s.space.checkNow();
    await recover(s);
    return s;
  }

  get log(): Logger {
    return this.o.log;
  }
  get source(): ContentSource {
    return this.o.source;
  }
  get owner(): { uid: number; gid: number } {
    return this.o.owner;
  }
  get readOnly(): boolean {
    return !!this.o.readOnly || this.failed !== null || this.suspended;
  }

  /** A suspended session is read-only (ROFS) until it is resumed (session/service.ts). */
  suspended = false;

  /** Make everything durable and release files (clean shutdown). `discard`: the state directory is about
   *  to be deleted (the session landed, was abandoned or rebased onto a fresh state): release the files
   *  without a checkpoint or fdatasync, which would block the event loop for nothing. What is on disk then
   *  is what a SIGKILL would leave: every acknowledged change. */
  close(opts: { discard?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    if (opts.discard) {
      this.journal.abandon();
      this.data.close();
      return;
    }
    for (const n of this.unstable) this.journal.append({ t: 'i', s: n.state() });
    this.tryCheckpoint();
    try {
      this.journal.close();
      for (const n of this.doomed.splice(0)) this.data.remove(n.ino, n.size);
    } catch (e) {
      this.o.log.error({ err: e, dir: this.o.dir }, 'journal not flushed at close');
    }
    this.data.close();
  }

  /** Checkpoint now; on failure (a full disk) the journal stays as it is, which recovery reads as well. */
  tryCheckpoint(): void {
    try {
      writeCheckpoint(this);
    } catch (e) {
      if (e instanceof SyncError) this.fail(e);
      this.o.log.warn({ err: (e as Error).message, dir: this.o.dir }, 'checkpoint not written');
    }
  }

  // ---------------------------------------------------------------- I/O failures

  /** A failed fsync: nothing unsynced can be trusted. The session goes read-only and the write verifier
   *  changes, so clients resend what they have not committed (RFC 1813 3.3.7) once it is writable again. */
  fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.writeVerifier = randomBytes(8);
    this.o.log.error({ err: e, dir: this.o.dir }, 'fsync failed: the session is read-only from now on');
  }

  /** The error to answer for an I/O failure: fsync failures make the session read-only; ENOSPC and
   *  EDQUOT refuse changes until space is found again. */
  ioError(e: unknown): unknown {
    if (e instanceof SyncError) this.fail(e);
    if (isNoSpace(e)) this.space.full();
    return fsErrorOf(e) ?? e;
  }

  async syncData(ino: number): Promise<void> {
    try {
      await this.data.sync(ino);
    } catch (e) {
      throw this.ioError(e);
    }
  }

  // ---------------------------------------------------------------- freeze and changes in flight

  /** Changes are refused with JUKEBOX from now on (a landing, rebase or handoff is sealing); resolves once the
   *  changes already past their check (a WRITE waiting on copy-up, an RMDIR on its listing) have finished. */
  freeze(): Promise<void> {
    return this.gate.freeze();
  }

  thaw(): void {
    this.gate.thaw();
  }

  /** Resolves once no change is in flight. */
  drained(): Promise<void> {
    return this.gate.drained();
  }

  /** Throws ROFS unless changes are allowed now (NOSPC while the disk is full). Frozen: JUKEBOX (RFC 1813
   *  2.6: "not able to complete it in a timely fashion", the client waits and sends it again): the freeze ends
   *  within the landing, rebase or handoff, and the retried call is then done (a landing that conflicted
   *  thaws the session) or answered STALE (the export closed). ROFS, which the kernel hands to the
   *  application as EROFS, made a write during a rebase fail as if the mount had become read-only for good. */
  writable(): void {
    if (this.o.readOnly || this.failed || this.suspended) throw new FsError(NfsStatus.ROFS);
    if (this.gate.frozen) throw new FsError(NfsStatus.JUKEBOX, 'the session is being landed, rebased or handed off');
    this.space.check();
  }

  /** Runs one change: refused while frozen or read-only, counted while in flight. */
  async mutate<T>(fn: () => Promise<T>): Promise<T> {
    this.writable();
    this.gate.enter();
    try {
      return await fn();
    } catch (e) {
      throw this.ioError(e);
    } finally {
      this.gate.leave();
    }
  }

  /** mutate() for a change made at once that waits for nothing (an UNSTABLE WRITE to a local file): the same
   *  checks, gate and error mapping, and the result or the error at once. */
  changeSync<T>(apply: () => T): T {
    this.writable();
    this.gate.enter();
    try {
      return apply();
    } catch (e) {
      throw this.ioError(e);
    } finally {
      this.gate.leave();
    }
  }

  /**
   * mutate() for a change that `apply` makes and journals synchronously (SETATTR without a size: two thirds of
   * an untar's calls): `done` of what apply returned once it is durable. The same checks, gate and error
   * mapping as mutate(), with one promise reaction after the journal's sync instead of a chain of async frames.
   */
  changeNow<B, T>(apply: () => B, done: (b: B) => T): Promise<T> {
    let b: B;
    try {
      this.writable();
    } catch (e) {
      return Promise.reject(e);
    }
    this.gate.enter();
    try {
      b = apply();
    } catch (e) {
      this.gate.leave();
      return Promise.reject(this.ioError(e));
    }
    return this.durable().then(
      () => {
        this.gate.leave();
        return done(b);
      },
      (e: unknown) => {
        this.gate.leave();
        throw e; // durable() mapped it
      },
    );
  }

  // ---------------------------------------------------------------- change helpers (used by edits.ts)

  /** Journal an inode's new state. */
  logInode(n: Inode): void {
    this.countChange();
    n.dirty = true;
    n.changed();
    this.journal.append({ t: 'i', s: n.state() });
  }

  /** Counts a change (generation) and calls the onNextChange callback, if one waits. */
  countChange(): void {
    this.generation++;
    const f = this.nextChange;
    if (f !== null) {
      this.nextChange = null;
      f();
    }
  }

  /** Calls fn once, synchronously, on the next change (the session-events watcher, src/session/events.ts:
   *  it looks at the counters only after a change, never on a timer). Replaces a callback set before. */
  onNextChange(fn: () => void): void {
    this.nextChange = fn;
  }

  touch(d: Inode): void {
    d.mtime = d.ctime = now();
    this.logInode(d);
  }

  /** Everything journaled so far on stable storage (a checkpoint when the journal has grown). Most changes
   *  doom no data file: then the journal's promise with one reaction, no async frame of its own. */
  durable(): Promise<void> {
    if (this.doomed.length === 0) return this.journal.sync().then(this.synced, this.syncFailed);
    return this.durableDooming();
  }

  private readonly synced = (): void => {
    if (this.journal.bytes > CHECKPOINT_BYTES) this.tryCheckpoint();
  };

  private readonly syncFailed = (e: unknown): never => {
    throw this.ioError(e);
  };

  /** durable() when data files wait for the journal to say their inodes are gone. */
  private async durableDooming(): Promise<void> {
    const doomed = this.doomed.splice(0);
    try {
      await this.journal.sync();
    } catch (e) {
      this.doomed.push(...doomed);
      throw this.ioError(e);
    }
    for (const n of doomed) this.data.remove(n.ino, n.size);
    if (this.journal.bytes > CHECKPOINT_BYTES) this.tryCheckpoint();
  }

  newInode(type: FileType, a: NewAttrs): Inode {
    const n = new Inode();
    const t = now();
    Object.assign(n, {
      ino: this.nextIno++,
      type,
      mode: a.mode & 0o7777,
      uid: a.uid,
      gid: a.gid,
      nlink: 1,
      size: 0,
      atime: t,
      mtime: t,
      ctime: t,
    });
    this.inodes.set(n.ino, n);
    return n;
  }

  addEntry(dir: Directory, d: Inode, name: string, n: Inode): void {
    const slot = dir.add(name, n.ino);
    this.journal.append({ t: 'a', d: d.ino, n: name, i: n.ino, q: slot.seq });
  }

  removeEntry(dir: Directory, d: Inode, name: string): void {
    dir.remove(name);
    this.journal.append({ t: 'r', d: d.ino, n: name });
  }

  /** Drop one link to an inode; free it (and its data) at zero. */
  dropLink(n: Inode): void {
    n.nlink -= n.type === FileType.DIR ? n.nlink : 1;
    if (n.nlink > 0) {
      n.ctime = now();
      this.logInode(n);
      return;
    }
    this.inodes.delete(n.ino);
    this.unstable.delete(n);
    this.sealedBlobs.delete(n.ino);
    if (n.local) this.doomed.push(n);
    this.journal.append({ t: 'g', i: n.ino });
  }

  // ---------------------------------------------------------------- for sealing

  /** The blob hash sealing made of a local file's content in the state `key`, if it still is. */
  sealedBlob(ino: number, key: string): string | undefined {
    const m = this.sealedBlobs.get(ino);
    return m && m.key === key ? m.hash : undefined;
  }

  rememberSealedBlob(ino: number, key: string, hash: string): void {
    this.sealedBlobs.set(ino, { key, hash });
  }
}
