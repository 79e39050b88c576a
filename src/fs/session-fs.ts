// The copy-on-write filesystem of one session: its base tree (immutable, content-addressed)
// plus the session's own changes, kept in a journal and local data files.
// A READ of a base file fetches only the chunks it needs; when they are not in RAM and the store takes
// longer than readWaitMs, it answers JUKEBOX while the fetch goes on and fills the cache for the retry.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  ACCESS, FileType, FsError, NfsStatus, StableHow,
  type Attrs, type CreateHow, type CreateResult, type Cred, type DirEntry, type DirListing,
  type FileSystem, type FsStat, type NfsTime, type SetAttrs, type Wcc,
} from './types.js';
import type { TreeEntry } from '../store/types.js';
import { Inode } from './inode.js';
import { Directory, type Slot } from './directory.js';
import { Journal, type Checkpoint, type JournalRecord } from './journal.js';
import { DataFiles } from './data-files.js';
import { HandleCodec } from './handles.js';
import { accessMask, checkDelete, chmodMode, chownKillPriv, killPriv, newOwner, permBits } from './access.js';
import { checkLookupName, checkName } from './names.js';
import { now, sameTime } from './time.js';
import { largeBuffers } from '../../rpc/buffer-pool.js';

/** What the filesystem needs of the store. */
export interface ContentSource {
  getBlob(hash: string): Promise<Buffer>;
  /** bytes [offset, offset + length) of a blob, fetching only what they need */
  readBlob(hash: string, offset: number, length: number): Promise<Buffer>;
  /** readBlob as consecutive slices of cached data (not to be modified) */
  readSlices(hash: string, offset: number, length: number): Promise<Buffer[]>;
  /** readSlices when no I/O is needed (all in RAM), else null */
  cachedSlices(hash: string, offset: number, length: number): Buffer[] | null;
  /** the chunks of a chunked blob, null for a blob stored whole */
  blobChunks(hash: string, sizeHint?: number): Promise<{ hash: string; length: number }[] | null>;
  listDir(hash: string): Promise<TreeEntry[]>;
}

export interface SessionFsOptions {
  fsid: bigint;
  /** the session's local directory (journal, checkpoint, data files) */
  dir: string;
  source: ContentSource;
  handles: HandleCodec;
  base: { tree: string; nextIno: number; time: NfsTime };
  owner: { uid: number; gid: number };
  writeVerifier: Buffer;
  log: Logger;
  readOnly?: boolean;
  /** How long a READ of a base file waits for the store before answering JUKEBOX (default 1500 ms). */
  readWaitMs?: number;
}

const READ_WAIT_MS = 1500;

export const ROOT_INO = 1;
const MAX_FILE_SIZE = 2 ** 40;
const ZERO_VERF = Buffer.alloc(8);
const CHECKPOINT_BYTES = 32 * 1024 * 1024;

export class SessionFs implements FileSystem {
  readonly fsid: bigint;
  readonly maxFileSize = MAX_FILE_SIZE;
  readonly writeVerifier: Buffer;
  private readonly inodes = new Map<number, Inode>();
  private nextIno: number;
  private readonly journal: Journal;
  private readonly data: DataFiles;
  private readonly root: Inode;
  private fullyLoaded: Promise<void> | null = null;
  private readonly copying = new Map<number, Promise<void>>();
  private readonly unstable = new Set<Inode>();
  private closed = false;
  /** Bumped on every change: the daemon's background sealer skips sessions whose count stands still. */
  generation = 0;

  private constructor(private readonly o: SessionFsOptions) {
    this.fsid = o.fsid;
    this.writeVerifier = o.writeVerifier;
    this.nextIno = o.base.nextIno;
    this.data = new DataFiles(path.join(o.dir, 'files'));
    this.journal = new Journal(o.dir, 0);
    const r = new Inode();
    const t = o.base.time;
    Object.assign(r, {
      ino: ROOT_INO, type: FileType.DIR, mode: 0o755, uid: o.owner.uid, gid: o.owner.gid,
      nlink: 2, size: 4096, atime: t, mtime: t, ctime: t, parent: ROOT_INO, tree: o.base.tree,
    });
    this.root = r;
    this.inodes.set(ROOT_INO, r);
  }

  /** Open a session's filesystem, replaying its checkpoint and journal. */
  static async open(o: SessionFsOptions): Promise<SessionFs> {
    fs.mkdirSync(o.dir, { recursive: true });
    const sfs = new SessionFs(o);
    await sfs.recover();
    return sfs;
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const cp = Journal.readCheckpoint(this.o.dir);
    const gen = cp?.gen ?? 0;
    if (cp) {
      this.nextIno = Math.max(this.nextIno, cp.nextIno);
      for (const s of cp.inodes) this.installState(s);
      for (const d of cp.dirs) {
        const n = this.inodes.get(d.ino);
        if (!n) continue;
        const dir = new Directory();
        for (const [name, ino, seq] of d.slots) dir.add(name, ino, seq);
        dir.nextSeq = Math.max(dir.nextSeq, d.nextSeq);
        n.dir = dir;
      }
    }
    const records = Journal.read(this.o.dir, gen);
    for (const rec of records) await this.replay(rec);
    // local data files are the truth for sizes (unstable writes need no journal record)
    for (const n of this.inodes.values()) if (n.local) n.size = this.data.size(n.ino);
    for (const n of this.inodes.values()) if (n.dir) await this.materialize(n, n.dir);
    this.journal.gen = gen;
    this.journal.open();
    if (records.length) this.writeCheckpoint();
    if (records.length || cp) this.o.log.info({ fsid: this.fsid.toString(16), records: records.length }, 'session state recovered');
  }

  private installState(s: Inode | import('./inode.js').InodeState): Inode {
    const old = this.inodes.get(s.ino);
    const n = Inode.fromState(s);
    if (old?.dir) n.dir = old.dir;
    n.dirty = true;
    if (s.ino === ROOT_INO) Object.assign(this.root, n.state(), { dirty: true });
    else this.inodes.set(s.ino, n);
    if (s.ino >= this.nextIno) this.nextIno = s.ino + 1;
    return s.ino === ROOT_INO ? this.root : n;
  }

  private async replay(rec: JournalRecord): Promise<void> {
    switch (rec.t) {
      case 'i': this.installState(rec.s); break;
      case 'g': this.inodes.delete(rec.i); if (rec.i >= this.nextIno) this.nextIno = rec.i + 1; break;
      case 'a': case 'r': {
        const d = this.inodes.get(rec.d);
        if (!d) return;
        const dir = await this.listing(d);
        if (rec.t === 'a') { dir.remove(rec.n); dir.add(rec.n, rec.i, rec.q); } else dir.remove(rec.n);
        break;
      }
    }
  }

  private writeCheckpoint(): void {
    const cp: Checkpoint = { gen: this.journal.gen + 1, nextIno: this.nextIno, inodes: [], dirs: [] };
    for (const n of this.inodes.values()) {
      if (!n.dirty) continue;
      cp.inodes.push(n.state());
      if (n.dir) {
        const slots: [string, number, number][] = [];
        for (const s of n.dir.after(0)) slots.push([s.name, s.ino, s.seq]);
        cp.dirs.push({ ino: n.ino, nextSeq: n.dir.nextSeq, slots });
      }
    }
    this.journal.checkpoint(cp);
  }

  /** Make everything durable and release files (clean shutdown). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const n of this.unstable) this.journal.append({ t: 'i', s: n.state() });
    this.writeCheckpoint();
    this.journal.close();
    this.data.close();
  }

  // ---------------------------------------------------------------- inodes and listings

  rootHandle(): Buffer { return this.o.handles.encode(this.fsid, ROOT_INO); }

  handleOf(ino: number): Buffer {
    const n = this.inodes.get(ino);
    if (!n) return this.o.handles.encode(this.fsid, ino);
    return (n.fh ??= this.o.handles.encode(this.fsid, ino));
  }

  private inodeSync(fh: Buffer): Inode | null {
    const h = this.o.handles.decode(fh);
    if (h.fsid !== this.fsid) throw new FsError(NfsStatus.STALE, 'handle of another export');
    return this.inodes.get(h.ino) ?? null;
  }

  private async inode(fh: Buffer): Promise<Inode> {
    const hit = this.inodeSync(fh);
    if (hit) return hit;
    // After a restart, unchanged objects are found again by walking the tree once.
    await this.loadAll();
    const again = this.inodeSync(fh);
    if (!again) throw new FsError(NfsStatus.STALE);
    return again;
  }

  private loadAll(): Promise<void> {
    if (!this.fullyLoaded) {
      this.fullyLoaded = (async () => {
        const queue = [this.root];
        while (queue.length) {
          const d = queue.pop()!;
          const dir = await this.listing(d);
          for (const s of dir.entries()) {
            const c = this.inodes.get(s.ino);
            if (c?.type === FileType.DIR && c !== d) queue.push(c);
          }
        }
      })();
      this.fullyLoaded.catch(() => { this.fullyLoaded = null; });
    }
    return this.fullyLoaded;
  }

  /** A directory's listing: loaded from its base tree on first use. */
  private async listing(d: Inode): Promise<Directory> {
    if (d.dir) return d.dir;
    if (d.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
    const dir = new Directory();
    if (d.tree) {
      const entries = await this.o.source.listDir(d.tree);
      if (d.dir) return d.dir; // loaded concurrently
      let subdirs = 0;
      entries.forEach((e, i) => {
        dir.add(e.name, e.ino, i + 1);
        if (!this.inodes.has(e.ino)) this.inodes.set(e.ino, Inode.fromEntry(e, d.ino, this.o.owner.uid, this.o.owner.gid));
        if (e.kind === 'dir') subdirs++;
      });
      if (!d.dirty) { d.nlink = 2 + subdirs; d.changed(); }
    }
    d.dir = dir;
    return dir;
  }

  /** Create inodes for entries of a recovered listing that are unchanged from the base. */
  private async materialize(d: Inode, dir: Directory): Promise<void> {
    let missing = false;
    for (const s of dir.entries()) if (!this.inodes.has(s.ino)) { missing = true; break; }
    if (!missing || !d.tree) return;
    for (const e of await this.o.source.listDir(d.tree)) {
      const s = dir.get(e.name);
      if (s && s.ino === e.ino && !this.inodes.has(e.ino)) {
        this.inodes.set(e.ino, Inode.fromEntry(e, d.ino, this.o.owner.uid, this.o.owner.gid));
      }
    }
  }

  private child(s: Slot): Inode {
    const n = this.inodes.get(s.ino);
    if (!n) throw new FsError(NfsStatus.IO, `inode ${s.ino} missing`);
    return n;
  }

  private async dirOf(fh: Buffer): Promise<{ d: Inode; dir: Directory }> {
    const d = await this.inode(fh);
    if (d.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
    return { d, dir: await this.listing(d) };
  }

  // ---------------------------------------------------------------- change helpers

  /** While frozen (a landing is sealing and merging), changes get ROFS rather than being lost. */
  private frozen = false;

  freeze(): void { this.frozen = true; }

  thaw(): void { this.frozen = false; }

  /** A suspended session's export is read-only (NFS3ERR_ROFS) until it is resumed. */
  suspended = false;

  private get readOnly(): boolean { return !!this.o.readOnly || this.suspended; }

  private writable(): void {
    if (this.readOnly || this.frozen) throw new FsError(NfsStatus.ROFS);
  }

  private mustWriteDir(d: Inode, cred: Cred): void {
    this.writable();
    if ((permBits(d, cred) & 3) !== 3) throw new FsError(NfsStatus.ACCES);
  }

  private log(n: Inode): void {
    this.generation++;
    n.dirty = true;
    n.changed();
    this.journal.append({ t: 'i', s: n.state() });
  }

  private touch(d: Inode): void {
    d.mtime = d.ctime = now();
    this.log(d);
  }

  private async durable(): Promise<void> {
    await this.journal.sync();
    if (this.journal.bytes > CHECKPOINT_BYTES) this.writeCheckpoint();
  }

  /** A new object in directory d: owner and mode by newOwner's rules (SETATTR's, for sattr3 uid/gid). */
  private newInode(d: Inode, type: FileType, mode: number, cred: Cred, set: SetAttrs): Inode {
    const own = newOwner(d, type, set, mode, cred);
    const n = new Inode();
    const t = now();
    Object.assign(n, {
      ino: this.nextIno++, type, mode: own.mode, uid: own.uid, gid: own.gid, nlink: 1, size: 0,
      atime: t, mtime: t, ctime: t,
    });
    this.inodes.set(n.ino, n);
    return n;
  }

  private addEntry(dir: Directory, d: Inode, name: string, n: Inode): void {
    const slot = dir.add(name, n.ino);
    this.journal.append({ t: 'a', d: d.ino, n: name, i: n.ino, q: slot.seq });
  }

  private removeEntry(dir: Directory, d: Inode, name: string): void {
    dir.remove(name);
    this.journal.append({ t: 'r', d: d.ino, n: name });
  }

  /** Drop one link to an inode; free it (and its data) at zero. */
  private dropLink(n: Inode): void {
    n.nlink -= n.type === FileType.DIR ? n.nlink : 1;
    if (n.nlink > 0) { n.ctime = now(); this.log(n); return; }
    this.inodes.delete(n.ino);
    this.unstable.delete(n);
    if (n.local) this.data.remove(n.ino);
    this.journal.append({ t: 'g', i: n.ino });
  }

  private async makeLocal(n: Inode): Promise<void> {
    if (n.local) return;
    let p = this.copying.get(n.ino);
    if (!p) {
      p = this.copyUp(n).finally(() => this.copying.delete(n.ino));
      this.copying.set(n.ino, p);
    }
    await p;
  }

  /** Copies a base file into the session's data files, chunk by chunk for a chunked blob. */
  private async copyUp(n: Inode): Promise<void> {
    const hash = n.blob;
    const chunks = hash ? await this.o.source.blobChunks(hash, n.size) : null;
    if (!hash || !chunks) {
      const content = hash ? await this.o.source.getBlob(hash) : undefined;
      if (n.local) return;
      this.data.create(n.ino, content);
    } else {
      let off = 0;
      for (const c of chunks) {
        const part = await this.o.source.readBlob(hash, off, c.length);
        if (n.local) return; // truncated to zero meanwhile: the data file is no longer ours to fill
        if (part.length !== c.length) throw new FsError(NfsStatus.IO, `short read of blob ${hash}`);
        if (off === 0) this.data.create(n.ino);
        this.data.write(n.ino, off, part);
        off += part.length;
      }
    }
    n.local = true;
    n.blob = null;
  }

  /** A range of a base blob; JUKEBOX when the store takes longer than readWaitMs (the fetch goes on). */
  private async readBase(hash: string, offset: number, len: number): Promise<{ data: Buffer; release?: () => void }> {
    const hit = this.o.source.cachedSlices(hash, offset, len);
    if (hit) return joinPooled(hit); // no timer for data already in RAM
    const p = this.o.source.readSlices(hash, offset, len);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((res) => { timer = setTimeout(() => res(null), this.o.readWaitMs ?? READ_WAIT_MS); });
    let parts: Buffer[] | null;
    try {
      parts = await Promise.race([p, late]);
    } catch (e) {
      if (e instanceof FsError) throw e;
      this.o.log.error({ err: e, blob: hash, offset }, 'read of a base file failed');
      throw new FsError(NfsStatus.IO, (e as Error).message);
    } finally {
      clearTimeout(timer);
    }
    if (parts) return joinPooled(parts);
    p.catch((e: unknown) => this.o.log.warn({ err: e, blob: hash, offset }, 'background fetch after JUKEBOX failed'));
    throw new FsError(NfsStatus.JUKEBOX, 'store is slow; the fetch continues');
  }

  private async created(d: Inode, n: Inode, before: Wcc['before']): Promise<CreateResult> {
    this.log(n);
    this.touch(d);
    await this.durable();
    return { fh: this.handleOf(n.ino), attrs: n.attrs(this.fsid), dir: { before, after: d.attrs(this.fsid) } };
  }

  // ---------------------------------------------------------------- procedures

  async tryGetattr(fh: Buffer): Promise<Attrs | null> {
    try { return (await this.inode(fh)).attrs(this.fsid); } catch { return null; }
  }

  getattr(fh: Buffer): Promise<Attrs> {
    let n: Inode | null;
    try { n = this.inodeSync(fh); } catch (e) { return Promise.reject(e); }
    if (n) return Promise.resolve(n.attrs(this.fsid));
    return this.inode(fh).then((x) => x.attrs(this.fsid));
  }

  async setattr(fh: Buffer, set: SetAttrs, guard: NfsTime | null, cred: Cred): Promise<Wcc> {
    const n = await this.inode(fh);
    this.writable();
    // RFC 1813 3.3.2: the guard compares the object's ctime
    if (guard && !sameTime(guard, n.ctime)) throw new FsError(NfsStatus.NOT_SYNC);
    const owner = cred.uid === 0 || cred.uid === n.uid;
    if ((set.mode !== undefined || set.gid !== undefined) && !owner) throw new FsError(NfsStatus.PERM);
    if (set.uid !== undefined && set.uid !== n.uid && cred.uid !== 0) throw new FsError(NfsStatus.PERM);
    if (set.gid !== undefined && cred.uid !== 0 && set.gid !== cred.gid && !cred.gids.includes(set.gid)) throw new FsError(NfsStatus.PERM);
    const timesToClient = (set.atime && set.atime !== 'server') || (set.mtime && set.mtime !== 'server');
    if (timesToClient && !owner) throw new FsError(NfsStatus.PERM);
    if ((set.atime || set.mtime) && !owner && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
    if (set.size !== undefined) {
      if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
      if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
      if (!owner && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
      if (set.size > MAX_FILE_SIZE) throw new FsError(NfsStatus.FBIG);
    }
    const before = n.wcc();
    const t = now();
    if (set.size !== undefined && set.size !== n.size) {
      if (!n.local && set.size === 0) { this.data.create(n.ino); n.local = true; n.blob = null; }
      else await this.makeLocal(n);
      this.data.truncate(n.ino, set.size);
      n.size = set.size;
      n.mtime = t;
    } else if (set.size !== undefined) {
      n.mtime = t; // a truncate to the same size still counts as a change (POSIX)
    }
    if (set.mode !== undefined) n.mode = chmodMode(set.mode, set.gid ?? n.gid, cred);
    if (set.size !== undefined) n.mode = killPriv(n.mode, n.type, cred);
    if (set.uid !== undefined || set.gid !== undefined) n.mode = chownKillPriv(n.mode, n.type);
    if (set.uid !== undefined) n.uid = set.uid;
    if (set.gid !== undefined) n.gid = set.gid;
    if (set.atime) n.atime = set.atime === 'server' ? t : set.atime;
    if (set.mtime) n.mtime = set.mtime === 'server' ? t : set.mtime;
    n.ctime = t;
    this.log(n);
    await this.durable();
    return { before, after: n.attrs(this.fsid) };
  }

  async lookup(dirFh: Buffer, name: string, cred: Cred): Promise<{ node: { fh: Buffer; attrs: Attrs }; dir: Attrs }> {
    checkLookupName(name);
    const { d, dir } = await this.dirOf(dirFh);
    if (!(permBits(d, cred) & 1)) throw new FsError(NfsStatus.ACCES);
    let n: Inode;
    if (name === '.') n = d;
    else if (name === '..') n = this.inodes.get(d.parent) ?? this.root;
    else {
      const s = dir.get(name);
      if (!s) throw new FsError(NfsStatus.NOENT);
      n = this.child(s);
    }
    return { node: { fh: this.handleOf(n.ino), attrs: n.attrs(this.fsid) }, dir: d.attrs(this.fsid) };
  }

  async access(fh: Buffer, mask: number, cred: Cred): Promise<{ access: number; attrs: Attrs }> {
    const n = await this.inode(fh);
    let ok = accessMask(n, cred, mask);
    if (this.readOnly) ok &= ~(ACCESS.MODIFY | ACCESS.EXTEND | ACCESS.DELETE);
    return { access: ok, attrs: n.attrs(this.fsid) };
  }

  async readlink(fh: Buffer): Promise<{ target: string; attrs: Attrs }> {
    const n = await this.inode(fh);
    if (n.type !== FileType.LNK) throw new FsError(NfsStatus.INVAL);
    return { target: n.target ?? '', attrs: n.attrs(this.fsid) };
  }

  async read(fh: Buffer, offset: number, count: number, cred: Cred): Promise<{ data: Buffer; eof: boolean; attrs: Attrs; release?: () => void }> {
    const n = await this.inode(fh);
    if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
    if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
    if (cred.uid !== n.uid && !(permBits(n, cred) & 4)) throw new FsError(NfsStatus.ACCES);
    const len = Math.max(0, Math.min(count, n.size - offset));
    let data: Buffer;
    if (len === 0) data = Buffer.alloc(0);
    else if (n.local) {
      const r = this.data.read(n.ino, offset, len);
      if (r.pooled) {
        const pooled = r.pooled;
        return { data: r.data, eof: offset + r.data.length >= n.size, attrs: n.attrs(this.fsid), release: () => largeBuffers.give(pooled) };
      }
      data = r.data;
    }
    else if (n.blob) {
      const r = await this.readBase(n.blob, offset, len);
      return { data: r.data, eof: offset + r.data.length >= n.size, attrs: n.attrs(this.fsid), release: r.release };
    } else data = Buffer.alloc(len);
    return { data, eof: offset + data.length >= n.size, attrs: n.attrs(this.fsid) };
  }

  async write(fh: Buffer, offset: number, buf: Buffer, stable: StableHow, cred: Cred): Promise<{ count: number; committed: StableHow; wcc: Wcc }> {
    const n = await this.inode(fh);
    this.writable();
    if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
    if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
    // the owner may always write (as knfsd does for files created read-only)
    if (cred.uid !== n.uid && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
    if (offset + buf.length > MAX_FILE_SIZE) throw new FsError(NfsStatus.FBIG);
    const before = n.wcc();
    if (!n.local) await this.makeLocal(n);
    this.data.write(n.ino, offset, buf);
    if (offset + buf.length > n.size) n.size = offset + buf.length;
    const mode = killPriv(n.mode, n.type, cred);
    if (mode !== n.mode) { n.mode = mode; this.log(n); } // setuid/setgid go before the write is acknowledged
    n.mtime = n.ctime = now();
    this.generation++;
    n.dirty = true;
    n.changed();
    let committed = StableHow.UNSTABLE;
    if (stable === StableHow.UNSTABLE) {
      n.unstable = true;
      this.unstable.add(n);
    } else {
      // RFC 1813 3.3.7: data and metadata on stable storage before replying
      await this.data.sync(n.ino);
      this.log(n);
      await this.durable();
      committed = StableHow.FILE_SYNC;
    }
    return { count: buf.length, committed, wcc: { before, after: n.attrs(this.fsid) } };
  }

  async commit(fh: Buffer): Promise<Wcc> {
    const n = await this.inode(fh);
    const before = n.wcc();
    if (n.unstable) {
      n.unstable = false;
      this.unstable.delete(n);
      if (n.local) await this.data.sync(n.ino);
      this.log(n);
    }
    await this.durable();
    return { before, after: n.attrs(this.fsid) };
  }

  async create(dirFh: Buffer, name: string, how: CreateHow, cred: Cred): Promise<CreateResult> {
    checkName(name);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    const before = d.wcc();
    const s = dir.get(name);
    if (s) {
      const n = this.child(s);
      if (how.kind === 'guarded') throw new FsError(NfsStatus.EXIST);
      if (how.kind === 'exclusive') {
        // RFC 1813 3.3.8: a retransmitted exclusive create finds its own verifier
        if (n.type === FileType.REG && n.verf === how.verf.toString('hex')) {
          return { fh: this.handleOf(n.ino), attrs: n.attrs(this.fsid), dir: { before, after: d.attrs(this.fsid) } };
        }
        throw new FsError(NfsStatus.EXIST);
      }
      if (n.type !== FileType.REG) throw new FsError(NfsStatus.EXIST);
      if (how.attrs.size !== undefined) await this.setattr(this.handleOf(n.ino), { size: how.attrs.size }, null, cred);
      return { fh: this.handleOf(n.ino), attrs: n.attrs(this.fsid), dir: { before, after: d.attrs(this.fsid) } };
    }
    const attrs = how.kind === 'exclusive' ? {} : how.attrs;
    const n = this.newInode(d, FileType.REG, 0o644, cred, { ...attrs, size: undefined });
    if (how.kind === 'exclusive') n.verf = how.verf.toString('hex');
    if (attrs.size) { this.data.create(n.ino); this.data.truncate(n.ino, attrs.size); n.local = true; n.size = attrs.size; }
    this.addEntry(dir, d, name, n);
    return this.created(d, n, before);
  }

  async mkdir(dirFh: Buffer, name: string, set: SetAttrs, cred: Cred): Promise<CreateResult> {
    checkName(name);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    if (dir.get(name)) throw new FsError(NfsStatus.EXIST);
    const before = d.wcc();
    const n = this.newInode(d, FileType.DIR, 0o755, cred, set);
    n.nlink = 2; n.size = 4096; n.parent = d.ino; n.dir = new Directory();
    this.addEntry(dir, d, name, n);
    d.nlink++;
    return this.created(d, n, before);
  }

  async symlink(dirFh: Buffer, name: string, target: string, set: SetAttrs, cred: Cred): Promise<CreateResult> {
    checkName(name);
    if (target.length === 0) throw new FsError(NfsStatus.INVAL);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    if (dir.get(name)) throw new FsError(NfsStatus.EXIST);
    const before = d.wcc();
    const n = this.newInode(d, FileType.LNK, 0o777, cred, { ...set, mode: 0o777 });
    n.target = target; n.size = Buffer.byteLength(target);
    this.addEntry(dir, d, name, n);
    return this.created(d, n, before);
  }

  async mknod(dirFh: Buffer, name: string, type: FileType, set: SetAttrs, rdev: [number, number], cred: Cred): Promise<CreateResult> {
    checkName(name);
    const device = type === FileType.CHR || type === FileType.BLK;
    if (!device && type !== FileType.FIFO && type !== FileType.SOCK) throw new FsError(NfsStatus.BADTYPE);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    if (dir.get(name)) throw new FsError(NfsStatus.EXIST);
    // device nodes need CAP_MKNOD on Linux: root only
    if (device && cred.uid !== 0) throw new FsError(NfsStatus.PERM, 'only root may make device nodes');
    const before = d.wcc();
    const n = this.newInode(d, type, 0o644, cred, set);
    if (device) n.rdev = [rdev[0] >>> 0, rdev[1] >>> 0];
    this.addEntry(dir, d, name, n);
    return this.created(d, n, before);
  }

  async remove(dirFh: Buffer, name: string, cred: Cred): Promise<Wcc> {
    checkName(name, NfsStatus.ISDIR);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    const s = dir.get(name);
    if (!s) throw new FsError(NfsStatus.NOENT);
    const n = this.child(s);
    if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
    checkDelete(d, n, cred);
    const before = d.wcc();
    this.removeEntry(dir, d, name);
    this.dropLink(n);
    this.touch(d);
    await this.durable();
    return { before, after: d.attrs(this.fsid) };
  }

  async rmdir(dirFh: Buffer, name: string, cred: Cred): Promise<Wcc> {
    checkName(name, name === '..' ? NfsStatus.NOTEMPTY : NfsStatus.INVAL);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    const s = dir.get(name);
    if (!s) throw new FsError(NfsStatus.NOENT);
    const n = this.child(s);
    if (n.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
    checkDelete(d, n, cred);
    const sub = await this.listing(n);
    if (dir.get(name) !== s) throw new FsError(NfsStatus.NOENT); // changed while loading
    if (sub.size > 0) throw new FsError(NfsStatus.NOTEMPTY);
    const before = d.wcc();
    this.removeEntry(dir, d, name);
    this.dropLink(n);
    d.nlink--;
    this.touch(d);
    await this.durable();
    return { before, after: d.attrs(this.fsid) };
  }

  async rename(fromFh: Buffer, fromName: string, toFh: Buffer, toName: string, cred: Cred): Promise<{ from: Wcc; to: Wcc }> {
    checkName(fromName, NfsStatus.INVAL);
    checkName(toName, NfsStatus.INVAL);
    const { d: fd, dir: fdir } = await this.dirOf(fromFh);
    const { d: td, dir: tdir } = await this.dirOf(toFh);
    const target0 = tdir.get(toName);
    if (target0) {
      const t = this.child(target0);
      if (t.type === FileType.DIR) await this.listing(t);
    }
    this.mustWriteDir(fd, cred);
    this.mustWriteDir(td, cred);
    const s = fdir.get(fromName);
    if (!s) throw new FsError(NfsStatus.NOENT);
    const n = this.child(s);
    checkDelete(fd, n, cred);
    const victim = tdir.get(toName);
    if (victim && victim.ino !== n.ino) checkDelete(td, this.child(victim), cred);
    // a directory moving to another parent rewrites its '..': write permission on it (Linux's may_rename)
    if (n.type === FileType.DIR && fd !== td && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
    const fromBefore = fd.wcc(), toBefore = td.wcc();
    const done = () => ({ from: { before: fromBefore, after: fd.attrs(this.fsid) }, to: { before: toBefore, after: td.attrs(this.fsid) } });
    if (fd === td && fromName === toName) return done();
    if (n.type === FileType.DIR) {
      // RFC 1813 3.3.14: a directory cannot move into its own subtree
      for (let p = td; ; p = this.inodes.get(p.parent) ?? this.root) {
        if (p === n) throw new FsError(NfsStatus.INVAL);
        if (p.ino === ROOT_INO) break;
      }
    }
    const ts = tdir.get(toName);
    if (ts) {
      const t = this.child(ts);
      if (t === n) return done(); // two links to one file: nothing to do (POSIX)
      if (n.type === FileType.DIR && t.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
      if (n.type !== FileType.DIR && t.type === FileType.DIR) throw new FsError(NfsStatus.EXIST);
      if (t.type === FileType.DIR) {
        if (!t.dir) throw new FsError(NfsStatus.JUKEBOX); // listing changed under us; client retries
        if (t.dir.size > 0) throw new FsError(NfsStatus.NOTEMPTY);
        td.nlink--;
      }
      this.removeEntry(tdir, td, toName);
      this.dropLink(t);
    }
    this.removeEntry(fdir, fd, fromName);
    this.addEntry(tdir, td, toName, n);
    if (n.type === FileType.DIR && fd !== td) { n.parent = td.ino; fd.nlink--; td.nlink++; }
    n.ctime = now();
    this.log(n);
    this.touch(fd);
    if (td !== fd) this.touch(td);
    await this.durable();
    return done();
  }

  async link(fh: Buffer, dirFh: Buffer, name: string, cred: Cred): Promise<{ attrs: Attrs; dir: Wcc }> {
    checkName(name);
    const n = await this.inode(fh);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
    if (dir.get(name)) throw new FsError(NfsStatus.EXIST);
    if (!this.inodes.has(n.ino)) throw new FsError(NfsStatus.STALE);
    const before = d.wcc();
    this.addEntry(dir, d, name, n);
    n.nlink++;
    n.ctime = now();
    this.log(n);
    this.touch(d);
    await this.durable();
    return { attrs: n.attrs(this.fsid), dir: { before, after: d.attrs(this.fsid) } };
  }

  async readdir(dirFh: Buffer, cookie: bigint, _verf: Buffer, cred: Cred): Promise<DirListing> {
    const { d, dir } = await this.dirOf(dirFh);
    if (!(permBits(d, cred) & 4)) throw new FsError(NfsStatus.ACCES);
    // cookies: 1 is ".", 2 is "..", entries follow at sequence + 2 (stable, so the verifier is zero)
    if (cookie >= BigInt(dir.nextSeq + 2)) throw new FsError(NfsStatus.BAD_COOKIE);
    const c = Number(cookie);
    const slots = dir.after(Math.max(0, c - 2));
    const self = this;
    const parent = this.inodes.get(d.parent) ?? this.root;
    const dot = (name: string, n: Inode, ck: number): DirEntry => ({
      name, fileid: n.ino, cookie: BigInt(ck), attrs: () => n.attrs(self.fsid), fh: () => self.handleOf(n.ino),
    });
    function* entries(): Generator<DirEntry> {
      if (c < 1) yield dot('.', d, 1);
      if (c < 2) yield dot('..', parent, 2);
      for (const s of slots) {
        yield {
          name: s.name,
          fileid: s.ino,
          cookie: BigInt(s.seq + 2),
          attrs: () => self.child(s).attrs(self.fsid),
          fh: () => self.handleOf(s.ino),
        };
      }
    }
    return { dir: d.attrs(this.fsid), verf: ZERO_VERF, entries: entries() };
  }

  async fsstat(fh: Buffer): Promise<FsStat> {
    const n = await this.inode(fh);
    const st = fs.statfsSync(this.o.dir);
    const bsize = st.bsize;
    return {
      attrs: n.attrs(this.fsid),
      tbytes: st.blocks * bsize, fbytes: st.bfree * bsize, abytes: st.bavail * bsize,
      tfiles: st.files, ffiles: st.ffree, afiles: st.ffree, invarsec: 0,
    };
  }

  // ---------------------------------------------------------------- for sealing and tests

  /** Walk the session's current tree: calls `visit` for each entry with its inode. */
  async walk(visit: (dirIno: number, name: string, n: Inode) => Promise<void> | void, from: Inode = this.root): Promise<void> {
    const dir = await this.listing(from);
    for (const s of [...dir.after(0)]) {
      const n = this.child(s);
      await visit(from.ino, s.name, n);
      if (n.type === FileType.DIR) await this.walk(visit, n);
    }
  }

  rootInode(): Inode { return this.root; }

  async readAll(n: Inode): Promise<Buffer> {
    if (n.local) return this.data.readAll(n.ino);
    if (n.blob) return this.o.source.getBlob(n.blob);
    return Buffer.alloc(0);
  }

  async listingOf(n: Inode): Promise<Directory> { return this.listing(n); }

  inodeByIno(ino: number): Inode | undefined { return this.inodes.get(ino); }

  /** Inodes that differ from the base (sealing checks it reached them all: after a restart a changed
   *  file's directory listing may not be loaded yet). O(inodes in memory). */
  changedInodes(): Inode[] {
    const out: Inode[] = [];
    for (const n of this.inodes.values()) if (n.dirty) out.push(n);
    return out;
  }
}

/** Slices as one Buffer: the slice itself, or a copy into a pooled buffer (faulted in already) to give back. */
function joinPooled(parts: Buffer[]): { data: Buffer; release?: () => void } {
  if (parts.length === 1) return { data: parts[0]! };
  let total = 0;
  for (const p of parts) total += p.length;
  if (total > largeBuffers.size) return { data: Buffer.concat(parts, total) };
  const pooled = largeBuffers.take();
  let at = 0;
  for (const p of parts) at += p.copy(pooled, at);
  return { data: pooled.subarray(0, total), release: () => largeBuffers.give(pooled) };
}
