// The session's redo journal: records appended with group commit (every record appended in one
// event-loop turn goes out in one write, one binary frame, and shares one fdatasync; journal-codec.ts; on
// tmpfs, every record appended in one callback: see schedule).
// A checkpoint holds the whole changed state; after a checkpoint the journal starts over.
import fs from 'node:fs';
import path from 'node:path';
import type { InodeState } from './inode.js';
import { fdatasync, isMemoryFs, SyncError, syncDir } from './durable.js';
import { decodeJournal, FrameWriter, MAGIC, scanJournal, type JournalFormat, type JournalRecord } from './journal-codec.js';

export type { JournalRecord };

export interface Checkpoint {
  gen: number;
  nextIno: number;
  inodes: InodeState[];
  /** changed directories: next sequence number and entries [name, ino, seq] */
  dirs: { ino: number; nextSeq: number; slots: [string, number, number][] }[];
}

export class Journal {
  private fd = -1;
  private pending: JournalRecord[] = [];
  /** where each inode's state record sits in `pending`: a later state replaces it */
  private stateAt = new Map<number, number>();
  /** records drained but not yet written (a write failed, e.g. ENOSPC): written first next time */
  private unwritten: Buffer | null = null;
  private waiters: (() => void)[] = [];
  private failures: ((e: Error) => void)[] = [];
  private scheduled = false;
  private syncing = false;
  /** a failed fdatasync: nothing appended since can be trusted to reach the disk */
  private broken: SyncError | null = null;
  /** closed by abandon(): nothing is written any more */
  private abandoned = false;
  bytes = 0;
  /** the open file's format: JSON lines only for a journal written before the binary format */
  private format: JournalFormat = 'binary';
  private readonly frames = new FrameWriter();

  private readonly inline: boolean;

  constructor(
    private readonly dir: string,
    public gen: number,
  ) {
    this.inline = isMemoryFs(dir);
  }

  static journalPath(dir: string, gen: number): string {
    return path.join(dir, `journal.${gen}`);
  }

  /** Opens the current generation for appending; a torn last record (a crash mid-write) is cut off first,
   *  since replay stops at it and would lose whatever came after. A new file's name is made durable. */
  open(): void {
    const file = Journal.journalPath(this.dir, this.gen);
    const existed = fs.existsSync(file);
    this.fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    let size = fs.fstatSync(this.fd).size;
    this.format = 'binary';
    if (size > 0) {
      const { format, end } = scanJournal(fs.readFileSync(file));
      this.format = format;
      if (end !== size) {
        fs.ftruncateSync(this.fd, end);
        size = end;
      }
    }
    this.bytes = size;
    if (!existed) syncDir(this.dir);
  }

  /** Queue a record; Journal.sync() resolves once it is on stable storage. */
  append(rec: JournalRecord): void {
    if (rec.t === 'i') {
      // a full inode state supersedes an earlier one still queued (e.g. a directory
      // touched by 16 creates in one turn is written once)
      const at = this.stateAt.get(rec.s.ino);
      if (at !== undefined) {
        this.pending[at] = rec;
        return;
      }
      this.stateAt.set(rec.s.ino, this.pending.length);
    }
    this.pending.push(rec);
    this.schedule();
  }

  /** The queued records as bytes (one frame, in the frame writer's scratch buffer until the next drain: written
   *  at once by writePending, which keeps a copy when the write fails), or null when none are queued. */
  private drain(): Buffer | null {
    if (!this.pending.length) return null;
    let out: Buffer;
    if (this.format === 'json') {
      let text = '';
      for (const r of this.pending) text += JSON.stringify(r) + '\n';
      out = Buffer.from(text);
    } else out = this.frames.frame(this.pending);
    this.pending = [];
    this.stateAt.clear();
    return out;
  }

  /** Resolves when everything appended so far is durable; rejects with the I/O error otherwise
   *  (SyncError for a failed fdatasync, which stays failed). */
  sync(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.failures.push(reject);
      this.schedule();
    });
  }

  /**
   * The group commit's flush, once per turn. On a disk: in the check phase (setImmediate), after every call of
   * the loop's turn has appended, since each fdatasync costs milliseconds. On tmpfs/ramfs, where the write and
   * its sync cost microseconds: at the end of the current callback (nextTick), which still takes every call of
   * one socket read that journals at once (CREATE, MKDIR, REMOVE, SETATTR: changeNow) in one frame, and lets
   * their replies go out in that same turn instead of after a trip round the loop (one call in flight). An
   * append made later in the turn (after an await) is flushed on its own: a few microseconds more there.
   */
  private schedule(): void {
    if (this.scheduled || this.syncing) return;
    this.scheduled = true;
    if (this.inline) process.nextTick(this.flushSoon);
    else setImmediate(this.flushSoon);
  }

  /** Writes the queued records at the end of the journal, all or nothing: a short or failed write is cut
   *  off again and kept for the next attempt. Throws the write's error. */
  private writePending(): void {
    if (this.abandoned || (!this.pending.length && !this.unwritten)) return;
    if (this.fd < 0) this.open();
    const more = this.drain();
    if (more) this.unwritten = this.unwritten ? Buffer.concat([this.unwritten, more]) : more;
    let buf = this.unwritten;
    if (!buf) return;
    // a new binary journal begins with its header, written with its first frame (all or nothing, as below)
    if (this.bytes === 0 && this.format === 'binary') buf = Buffer.concat([MAGIC, buf]);
    let done = 0;
    try {
      while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, this.bytes + done);
    } catch (e) {
      // kept for the next attempt: out of the frame writer's scratch buffer, which the next drain reuses
      if (more !== null && this.unwritten === more) this.unwritten = Buffer.from(more);
      if (done > 0)
        try {
          fs.ftruncateSync(this.fd, this.bytes);
        } catch {
          /* replay stops at the torn record */
        }
      throw e;
    }
    this.bytes += buf.length;
    this.unwritten = null;
  }

  /** flush, bound once: a closure per scheduled flush otherwise */
  private readonly flushSoon = (): void => this.flush();

  /** Rejects every waiter with err. */
  private failAll(err: Error): void {
    const failures = this.failures;
    this.waiters = [];
    this.failures = [];
    failures.forEach((f) => f(err));
  }

  /** Runs in setImmediate or nextTick (schedule): never throws (an exception here would end the daemon). */
  private flush(): void {
    this.scheduled = false;
    const waiters = this.waiters,
      failures = this.failures;
    if (this.broken || this.abandoned) {
      this.failAll(this.broken ?? new Error('journal closed'));
      return;
    }
    try {
      this.writePending();
    } catch (e) {
      this.failAll(e as Error);
      return;
    }
    if (!waiters.length) return;
    this.waiters = [];
    this.failures = [];
    if (this.inline) {
      // tmpfs/ramfs: the sync is a no-op syscall, made here; the waiters resume in this turn's microtasks as they
      // would after a promise of it, without the three promises and their closures per flush
      try {
        fs.fdatasyncSync(this.fd);
      } catch (e) {
        this.broken = new SyncError(e as Error);
        failures.forEach((f) => f(this.broken!));
        return;
      }
      waiters.forEach((w) => w());
      return;
    }
    this.syncing = true;
    fdatasync(this.fd, false)
      .then(
        () => waiters.forEach((w) => w()),
        (err: Error) => {
          if (err instanceof SyncError) this.broken = err;
          failures.forEach((f) => f(err));
        },
      )
      .finally(() => {
        this.syncing = false;
        if (this.pending.length || this.waiters.length) this.schedule();
      });
  }

  /** Write everything pending and sync it, synchronously (before a checkpoint or close). Throws. */
  flushNow(): void {
    if (this.broken) throw this.broken;
    this.writePending();
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      this.broken = new SyncError(e as Error);
      throw this.broken;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.flushNow();
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Closes the file without writing what is queued (the journal is about to be deleted). */
  abandon(): void {
    this.pending = [];
    this.stateAt.clear();
    this.unwritten = null;
    this.abandoned = true;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Every whole record of a generation's journal (either format); a torn end is left out. */
  static read(dir: string, gen: number): JournalRecord[] {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(Journal.journalPath(dir, gen));
    } catch {
      return [];
    }
    return decodeJournal(buf);
  }

  static readCheckpoint(dir: string): Checkpoint | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
    } catch {
      return null;
    }
  }

  /** Atomically replace the checkpoint, then start a fresh journal generation. Throws (and leaves the
   *  journal as it was) when the checkpoint cannot be written, e.g. on a full disk. */
  checkpoint(cp: Checkpoint): void {
    this.flushNow();
    const file = path.join(this.dir, 'checkpoint.json');
    const tmp = `${file}.tmp`;
    try {
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        const data = Buffer.from(JSON.stringify(cp));
        let done = 0;
        while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, done);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.renameSync(tmp, file);
    syncDir(this.dir);
    const old = this.gen;
    fs.closeSync(this.fd);
    this.fd = -1;
    this.gen = cp.gen;
    this.open();
    fs.rmSync(Journal.journalPath(this.dir, old), { force: true });
  }
}
