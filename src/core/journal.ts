// The session's redo journal: one JSON record per line, appended, with group commit
// (every record appended in one event-loop turn shares one fdatasync). A checkpoint
// holds the whole changed state; after a checkpoint the journal starts over.
import fs from 'node:fs';
import path from 'node:path';
import type { InodeState } from './inode.js';
import { fdatasync, isMemoryFs } from './durable.js';

export type JournalRecord =
  | { t: 'i'; s: InodeState }                         // inode state
  | { t: 'a'; d: number; n: string; i: number; q: number } // directory entry added
  | { t: 'r'; d: number; n: string }                  // directory entry removed
  | { t: 'g'; i: number };                            // inode freed

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
  private waiters: (() => void)[] = [];
  private failures: ((e: Error) => void)[] = [];
  private scheduled = false;
  private syncing = false;
  bytes = 0;

  private readonly inline: boolean;

  constructor(private readonly dir: string, public gen: number) {
    this.inline = isMemoryFs(dir);
  }

  static journalPath(dir: string, gen: number): string { return path.join(dir, `journal.${gen}`); }

  open(): void {
    this.fd = fs.openSync(Journal.journalPath(this.dir, this.gen), 'a');
    this.bytes = fs.fstatSync(this.fd).size;
  }

  /** Queue a record; the promise resolves once it is on stable storage. */
  append(rec: JournalRecord): void {
    if (rec.t === 'i') {
      // a full inode state supersedes an earlier one still queued (e.g. a directory
      // touched by 16 creates in one turn is written once)
      const at = this.stateAt.get(rec.s.ino);
      if (at !== undefined) { this.pending[at] = rec; return; }
      this.stateAt.set(rec.s.ino, this.pending.length);
    }
    this.pending.push(rec);
    this.schedule();
  }

  /** The queued records as bytes, or null when none are queued. */
  private drain(): Buffer | null {
    if (!this.pending.length) return null;
    let text = '';
    for (const r of this.pending) text += JSON.stringify(r) + '\n';
    this.pending = [];
    this.stateAt.clear();
    return Buffer.from(text);
  }

  /** Resolves when everything appended so far is durable. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.failures.push(reject);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.syncing) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const buf = this.drain();
    if (buf) {
      fs.writeSync(this.fd, buf);
      this.bytes += buf.length;
    }
    if (!this.waiters.length) return;
    const waiters = this.waiters, failures = this.failures;
    this.waiters = []; this.failures = [];
    this.syncing = true;
    fdatasync(this.fd, this.inline).then(
      () => waiters.forEach((w) => w()),
      (err: Error) => failures.forEach((f) => f(err)),
    ).finally(() => {
      this.syncing = false;
      if (this.pending.length || this.waiters.length) this.schedule();
    });
  }

  /** Write everything pending without waiting (used before a checkpoint or close). */
  flushNow(): void {
    const buf = this.drain();
    if (buf) {
      fs.writeSync(this.fd, buf);
      this.bytes += buf.length;
    }
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    this.flushNow();
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  static read(dir: string, gen: number): JournalRecord[] {
    let text: string;
    try { text = fs.readFileSync(Journal.journalPath(dir, gen), 'utf8'); } catch { return []; }
    const out: JournalRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try { out.push(JSON.parse(line)); } catch { break; } // a torn last line ends the log
    }
    return out;
  }

  static readCheckpoint(dir: string): Checkpoint | null {
    try { return JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')); } catch { return null; }
  }

  /** Atomically replace the checkpoint, then start a fresh journal generation. */
  checkpoint(cp: Checkpoint): void {
    this.flushNow();
    const file = path.join(this.dir, 'checkpoint.json');
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, JSON.stringify(cp));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    syncDir(this.dir);
    const old = this.gen;
    fs.closeSync(this.fd);
    this.gen = cp.gen;
    this.open();
    fs.rmSync(Journal.journalPath(this.dir, old), { force: true });
  }
}

export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}
