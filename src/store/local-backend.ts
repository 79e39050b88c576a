// ObjectBackend over a local directory: key = relative path under root (same layout as S3).
// Objects are written to a temp file, fsynced, renamed into place, then the directory is fsynced.
// Temp and lock files contain "~", which keys may not, so list() never shows them.
//
// put is durable once it resolves. putBehind (for ObjectIo's write batches: a seal) only writes the temp file
// of a content-addressed object; this instance serves it from memory (get, stat, has) until flush() fsyncs
// every pending temp file at once, renames them into place in the order they were put (a tree node after
// the nodes and blobs it names) and fsyncs their directories at once: one round of fsyncs per seal instead
// of one per object and per level of the tree. The batch's objects are named by nothing durable before its
// flush, so a crash loses only objects nobody needs (their temp files stay behind, as an interrupted write's
// do). Renames become durable in order on a journalling filesystem (ext4, xfs), so an object is never on
// disk without the objects it names.
//
// Immutable objects may also be in pack files (local-packs.ts: import-git writes its objects into one file,
// not one each): get, stat, has, touch, list and delete look there for what is not a loose file.
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { CasOutcome, ListOptions, ObjectBackend } from './object-backend.js';
import { isContentAddressedKey, validateRelKey } from './keys.js';
import { InvalidKeyError } from './errors.js';
import { acquireFileLock, holdsFileLock, releaseFileLock } from './file-lock.js';
import { isCode } from '../../util/errno.js';
import { LocalPacks, type DamagedPack } from './local-packs.js';
import type { Logger } from 'pino';
import { fsyncDir, fsyncFile, readOrNull, writeNew } from './local-file-io.js';
import { walkLocal } from './local-listing.js';

export interface LocalBackendOptions {
  /** fsync files and directories on write (default true). */
  fsync?: boolean;
  /** casRef lock considered stale after this many ms (default 10 000). */
  lockStaleMs?: number;
  /** casRef gives up waiting for the lock after this many ms (default 30 000). */
  lockTimeoutMs?: number;
  /** Where a damaged pack file is reported (once each). */
  log?: Logger;
}

/** A content-addressed object written to its temp file, not yet fsynced or renamed into place. */
interface Pending {
  path: string;
  tmp: string;
  data: Buffer;
  written: Promise<void>;
  mtimeMs: number;
}

/** Pending objects beyond these bounds are flushed by the put that passes them. */
const MAX_PENDING = 512;
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** The version token LocalBackend.getRef returns: SHA-256 hex of the ref's bytes. */
export function localRefVersion(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export class LocalBackend implements ObjectBackend {
  readonly root: string;
  private readonly fsync: boolean;
  private readonly lockStaleMs: number;
  private readonly lockTimeoutMs: number;
  private readonly knownDirs = new Set<string>();
  /** Serialises casRef per key inside this process; the lock file covers other processes. */
  private readonly refQueues = new Map<string, Promise<unknown>>();
  private readonly pending = new Map<string, Pending>();
  private pendingBytes = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly packs: LocalPacks;

  constructor(root: string, opts: LocalBackendOptions = {}) {
    this.root = resolve(root);
    this.fsync = opts.fsync ?? true;
    this.lockStaleMs = opts.lockStaleMs ?? 10_000;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.packs = new LocalPacks(this.root, this.fsync, { log: opts.log, elsewhere: (key) => this.looseOrPending(key) });
  }

  /** Absolute path of a key (validated). */
  pathOf(key: string): string {
    validateRelKey(key);
    return join(this.root, key);
  }

  async get(key: string, alloc?: (n: number) => Buffer): Promise<Buffer | null> {
    const p = this.pending.get(key);
    if (p) return p.data;
    // an object named by its hash is the same bytes loose or packed: the packs first (no failed open), but
    // no look at the packs directory while none was found there; a miss below looks again
    const packed = isContentAddressedKey(key) ? this.packs.lookupSeen(key) : null;
    if (packed) return this.readPacked(key, packed, alloc);
    const loose = await readOrNull(this.pathOf(key), alloc);
    if (loose !== null) return loose;
    const loc = this.packs.lookup(key);
    return loc ? this.readPacked(key, loc) : null;
  }

  /** A packed copy; if it cannot be read (the pack is damaged), another copy (loose, another pack) or the error. */
  private async readPacked(
    key: string,
    loc: NonNullable<ReturnType<LocalPacks['lookup']>>,
    alloc?: (n: number) => Buffer,
  ): Promise<Buffer | null> {
    try {
      return await this.packs.read(loc, alloc);
    } catch (e) {
      const other = await this.get(key); // that copy is skipped from now on
      if (other === null) throw e;
      return other;
    }
  }

  /** See ObjectBackend.reportCorrupt: a packed copy that failed is skipped from now on (logged once per pack). */
  reportCorrupt(key: string, detail: string): string | null {
    return this.pending.has(key) ? null : this.packs.reportCorrupt(key, detail);
  }

  whyMissing(key: string): string | null {
    return this.packs.whyMissing(key);
  }

  /** Pack files that are damaged (left out whole, or with objects that failed), for fsck. */
  damagedPacks(): DamagedPack[] {
    return this.packs.damagedPacks();
  }

  /** Damaged packs whose damage the store still feels (LocalPacks.neededDamage): damaged copies that a loose
   *  file, another pack's copy or a deletion superseded are left out. The mic_store_damaged_packs gauge. */
  neededDamage(): DamagedPack[] {
    return this.packs.neededDamage((key) => this.looseOrPending(key));
  }

  private looseOrPending(key: string): boolean {
    return this.pending.has(key) || existsSync(this.pathOf(key));
  }

  /** fsck: checks every packed object's CRC-32 (those that carry one); failures show in damagedPacks(). */
  verifyPackChecksums(): number {
    return this.packs.verifyChecksums();
  }

  /** A packed object's stored bytes, read synchronously (null: not in a pack). `firstTry`: no look at the
   *  packs directory while none was found there (LocalPacks.lookupSeen; a miss must try again). */
  getPackedSync(key: string, firstTry = false): Buffer | null {
    const loc = firstTry ? this.packs.lookupSeen(key) : this.packs.lookup(key);
    return loc ? this.packs.readSync(loc) : null;
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.writeAtomic(this.pathOf(key), data);
  }

  async has(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  /** Writes a content-addressed object's temp file; flush() makes it durable and puts it in place. Without
   *  fsync there is nothing to batch: a plain put. */
  async putBehind(key: string, data: Buffer): Promise<void> {
    const path = this.pathOf(key);
    if (!this.fsync || !isContentAddressedKey(key)) {
      await this.writeAtomic(path, data);
      return;
    }
    const known = this.pending.get(key);
    if (known) return known.written; // the same bytes (the key is their hash)
    const tmp = `${path}~tmp.${process.pid}.${randomBytes(6).toString('hex')}`;
    const p: Pending = { path, tmp, data, written: this.writeTemp(dirname(path), tmp, data), mtimeMs: Date.now() };
    this.pending.set(key, p);
    this.pendingBytes += data.length;
    try {
      await p.written;
    } catch (e) {
      if (this.pending.get(key) === p) {
        this.pending.delete(key);
        this.pendingBytes -= data.length;
      }
      throw e;
    }
    if (this.pending.size > MAX_PENDING || this.pendingBytes > MAX_PENDING_BYTES) await this.flush();
  }

  private async writeTemp(dir: string, tmp: string, data: Buffer): Promise<void> {
    await this.ensureDir(dir);
    try {
      await writeNew(tmp, data);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) {
        await rm(tmp, { force: true });
        throw e;
      }
      this.knownDirs.delete(dir); // directory removed behind our back
      await this.ensureDir(dir);
      await writeNew(tmp, data);
    }
  }

  /** Makes every pending object durable and visible: fsync of all their temp files at once, renames in the
   *  order they were put, fsync of all their directories at once. Resolves when all put so far are done. */
  flush(): Promise<void> {
    if (this.pending.size === 0) return this.flushing;
    const run = this.flushing.catch(() => {}).then(() => this.flushPending());
    this.flushing = run;
    return run;
  }

  private async flushPending(): Promise<void> {
    const batch = [...this.pending];
    if (!batch.length) return;
    const dirs = new Set<string>();
    try {
      await Promise.all(batch.map(([, p]) => p.written));
      await Promise.all(batch.map(([, p]) => fsyncFile(p.tmp)));
      for (const [key, p] of batch) {
        await rename(p.tmp, p.path);
        dirs.add(dirname(p.path));
        if (this.pending.get(key) === p) {
          this.pending.delete(key);
          this.pendingBytes -= p.data.length;
        }
      }
    } catch (e) {
      // what is still pending gets new temp files: a failed fsync is never retried on the same pages
      // (durable.ts), and the objects must still be made durable by a later flush (their puts succeeded)
      for (const [key, p] of batch) {
        if (this.pending.get(key) !== p) continue;
        const tmp = `${p.path}~tmp.${process.pid}.${randomBytes(6).toString('hex')}`;
        const old = p.tmp;
        p.tmp = tmp;
        p.written = rm(old, { force: true }).then(() => this.writeTemp(dirname(p.path), tmp, p.data));
        p.written.catch(() => {}); // surfaces at the next flush
      }
      throw e;
    }
    await Promise.all([...dirs].map(fsyncDir));
  }

  async stat(key: string): Promise<{ size: number; mtimeMs: number } | null> {
    const p = this.pending.get(key);
    if (p) return { size: p.data.length, mtimeMs: p.mtimeMs };
    try {
      const st = await stat(this.pathOf(key));
      return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR')) return this.packs.stat(key);
      throw e;
    }
  }

  readonly cacheTier = null;

  /** A local directory has no transient failures: a full or broken disk stays so. */
  isTransient(): boolean {
    return false;
  }

  async touch(key: string): Promise<void> {
    if (this.pending.has(key)) return; // written just now
    const now = new Date();
    try {
      await utimes(this.pathOf(key), now, now);
    } catch (e) {
      if (!isCode(e, 'ENOENT') || !this.packs.touch(key)) throw e;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (e) {
      if (!isCode(e, 'ENOENT', 'ENOTDIR')) throw e;
      await this.packs.remove(key);
      return;
    }
    if (this.fsync) await fsyncDir(dirname(path));
    await this.packs.remove(key); // a copy in a pack too
  }

  /** All keys starting with prefix (any string, not only whole segments), in byte order; with startAfter,
   *  only those after it: directories wholly before it are not read, keys before it not stat'ed. */
  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<{ key: string; size: number; mtimeMs: number }> {
    if (prefix.startsWith('/') || prefix.includes('~') || prefix.split('/').some((s) => s === '..' || s === '.')) {
      throw new InvalidKeyError(prefix, 'bad list prefix');
    }
    const baseRel = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* walkLocal(this.root, baseRel, prefix, this.packs.list(prefix), opts.startAfter ?? '');
  }

  async getRef(key: string): Promise<{ data: Buffer; version: string } | null> {
    const data = await this.get(key);
    return data === null ? null : { data, version: localRefVersion(data) };
  }

  async casRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    const path = this.pathOf(key);
    const prev = this.refQueues.get(key) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(() => this.casRefLocked(path, data, expect));
    this.refQueues.set(key, run);
    try {
      return await run;
    } finally {
      if (this.refQueues.get(key) === run) this.refQueues.delete(key);
    }
  }

  /** casRef, with the version token of our bytes (what getRef reads back) after a win. */
  async casRefVersion(key: string, data: Buffer, expect: string | null): Promise<CasOutcome> {
    const won = await this.casRef(key, data, expect);
    return { won, version: won ? localRefVersion(data) : null };
  }

  private async casRefLocked(path: string, data: Buffer, expect: string | null): Promise<boolean> {
    await this.ensureDir(dirname(path));
    const lockPath = `${path}~lock`;
    for (;;) {
      const token = await acquireFileLock(lockPath, { staleMs: this.lockStaleMs, timeoutMs: this.lockTimeoutMs });
      try {
        const current = await readOrNull(path);
        const version = current === null ? null : localRefVersion(current);
        if (version !== expect) return false;
        // Commit only if nobody broke our lock as stale meanwhile; otherwise start over.
        if (await this.writeAtomic(path, data, () => holdsFileLock(lockPath, token))) return true;
      } finally {
        await releaseFileLock(lockPath, token);
      }
    }
  }

  /** temp file + fsync + rename + fsync(dir). Returns false if beforeRename vetoed the write. */
  private async writeAtomic(path: string, data: Buffer, beforeRename?: () => Promise<boolean>): Promise<boolean> {
    const dir = dirname(path);
    await this.ensureDir(dir);
    const tmp = `${path}~tmp.${process.pid}.${randomBytes(6).toString('hex')}`;
    try {
      let fh;
      try {
        fh = await open(tmp, 'wx');
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e;
        this.knownDirs.delete(dir); // directory removed behind our back
        await this.ensureDir(dir);
        fh = await open(tmp, 'wx');
      }
      try {
        await fh.writeFile(data);
        if (this.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      if (beforeRename && !(await beforeRename())) {
        await rm(tmp, { force: true });
        return false;
      }
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    if (this.fsync) await fsyncDir(dir);
    return true;
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined && this.fsync) {
      // Make each new directory entry durable, from the deepest up to the pre-existing parent.
      for (let d = dir; ; d = dirname(d)) {
        await fsyncDir(dirname(d));
        if (d === created || d === dirname(d)) break;
      }
    }
    if (this.knownDirs.size > 10_000) this.knownDirs.clear();
    this.knownDirs.add(dir);
  }
}
