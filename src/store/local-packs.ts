// Pack files of a local data directory: objects written in bulk (import-git) in one file, not one file
// each. Creating a file costs the filesystem an inode and a directory entry (on a busy ext4 several hundred
// microseconds of kernel time); a history of 10k commits is ~80k objects and records.
//
//   packs~/<id>.pack   "MICPACK1", the objects' bytes back to back, the index, then a 16-byte trailer:
//                      index offset (u64 BE), count (u32 BE), "MICI"
//   index entry        key length (u16 BE), key (UTF-8), offset (u48 BE), length (u32 BE)
//   packs~/<id>.dead   keys deleted since (by gc, or a session record removed), one a line
//
// A loose file wins over a packed copy of its key: a mutable document (a session record) packed by the
// import and rewritten later is a loose file from then on; refs are never packed.
//
// A pack is written under a temporary name (<id>.pack.tmp), fsynced, then renamed into place and its
// directory fsynced: it appears whole or not at all; a crash leaves only a temporary file that the next
// writer removes (PackWriter's sweep). "~" keeps the directory out of LocalBackend.list's walk and out of
// key space (keys may not contain it); LocalBackend serves packed objects through get, stat, has, touch,
// list and delete as if they were files, loose files first. A deletion rewrites the .dead list (temporary
// file + rename), and a pack whose objects are all dead is removed. Every lookup stats the directory and
// reloads what changed (its mtime moves with each pack or .dead renamed into it), so other processes'
// packs and deletions are seen at once. gc's grace period counts from a packed object's pack's mtime.
import { closeSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isCode } from '../../util/errno.js';

export const PACKS_DIR = 'packs~';
export const PACK_MAGIC = Buffer.from('MICPACK1');
export const INDEX_MAGIC = 'MICI';
export const TRAILER_BYTES = 16;

export interface Located {
  pack: Pack;
  offset: number;
  length: number;
}

interface Pack {
  id: string;
  path: string;
  fd: number;
  ino: bigint;
  mtimeMs: number;
  /** key -> offset, length */
  entries: Map<string, { offset: number; length: number }>;
  dead: Set<string>;
  deadVersion: string;
}

/** Reads a pack's index (throws on a malformed one). */
function readIndex(fd: number, size: number): Map<string, { offset: number; length: number }> {
  if (size < PACK_MAGIC.length + TRAILER_BYTES) throw new Error('pack too short');
  const t = Buffer.alloc(TRAILER_BYTES);
  readSync(fd, t, 0, TRAILER_BYTES, size - TRAILER_BYTES);
  if (t.toString('latin1', 12) !== INDEX_MAGIC) throw new Error('pack trailer damaged');
  const at = Number(t.readBigUInt64BE(0));
  const count = t.readUInt32BE(8);
  if (at < PACK_MAGIC.length || at > size - TRAILER_BYTES) throw new Error('pack index damaged');
  const idx = Buffer.alloc(size - TRAILER_BYTES - at);
  if (idx.length) readSync(fd, idx, 0, idx.length, at);
  const m = new Map<string, { offset: number; length: number }>();
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 2 > idx.length) throw new Error('pack index damaged');
    const n = idx.readUInt16BE(o);
    if (o + 2 + n + 10 > idx.length) throw new Error('pack index damaged');
    const key = idx.toString('utf8', o + 2, o + 2 + n);
    const offset = idx.readUIntBE(o + 2 + n, 6);
    const length = idx.readUInt32BE(o + 8 + n);
    if (offset + length > at) throw new Error('pack index entry damaged');
    m.set(key, { offset, length });
    o += 12 + n;
  }
  if (o !== idx.length) throw new Error('pack index damaged');
  return m;
}

function readDead(path: string): { set: Set<string>; version: string } {
  try {
    const st = statSync(path, { bigint: true });
    const text = readFileSync(path, 'utf8');
    return { set: new Set(text.split('\n').filter(Boolean)), version: `${st.ino}/${st.mtimeNs}/${st.size}` };
  } catch (e) {
    if (isCode(e, 'ENOENT')) return { set: new Set(), version: 'none' };
    throw e;
  }
}

export class LocalPacks {
  private version = '';
  /** the directory has been looked at at least once (lookupSeen may use what was seen) */
  private looked = false;
  private readonly packs = new Map<string, Pack>();
  private readonly dir: string;

  /** once: the packs are read at the first lookup and never again (a bulk writer's dedup check) */
  constructor(
    root: string,
    private readonly fsync: boolean,
    private readonly opts: { once?: boolean } = {},
  ) {
    this.dir = join(root, PACKS_DIR);
  }

  /** The packs, reloaded where the directory changed since the last look (false: there are none). */
  private current(): boolean {
    if (this.opts.once && this.version) return this.packs.size > 0;
    this.looked = true;
    const st = statSync(this.dir, { bigint: true, throwIfNoEntry: false });
    if (!st) {
      for (const p of this.packs.values()) closeSync(p.fd);
      this.packs.clear();
      this.version = this.opts.once ? 'none' : '';
      return false;
    }
    const version = `${st.ino}/${st.mtimeNs}`;
    if (this.version === version) return this.packs.size > 0;
    this.version = version;
    const seen = new Set<string>();
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.pack')) continue;
      const id = name.slice(0, -'.pack'.length);
      const path = join(this.dir, name);
      const pst = statSync(path, { bigint: true, throwIfNoEntry: false });
      if (!pst) continue;
      seen.add(id);
      let p = this.packs.get(id);
      if (!p || p.ino !== pst.ino) {
        if (p) closeSync(p.fd);
        const fd = openSync(path, 'r');
        try {
          p = {
            id,
            path,
            fd,
            ino: pst.ino,
            mtimeMs: Number(pst.mtimeMs),
            entries: readIndex(fd, Number(pst.size)),
            dead: new Set(),
            deadVersion: '',
          };
        } catch (e) {
          closeSync(fd);
          throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
        }
        this.packs.set(id, p);
      }
      p.mtimeMs = Number(pst.mtimeMs);
      const d = readDead(join(this.dir, `${id}.dead`));
      if (d.version !== p.deadVersion) {
        p.dead = d.set;
        p.deadVersion = d.version;
      }
    }
    for (const [id, p] of this.packs)
      if (!seen.has(id)) {
        closeSync(p.fd);
        this.packs.delete(id);
      }
    return this.packs.size > 0;
  }

  /** Closes the packs' descriptors (a snapshot reader done with them; the next lookup opens them again). */
  close(): void {
    for (const p of this.packs.values()) closeSync(p.fd);
    this.packs.clear();
    this.version = '';
  }

  /** Where a packed object is, or null (not packed, or deleted). */
  lookup(key: string): Located | null {
    return this.current() ? this.find(key) : null;
  }

  /**
   * lookup() for a first try on a hot path: when the last look at the directory found no pack, null without
   * looking again (the common store, never imported into). A miss must be followed by lookup(), which sees
   * packs written since; with packs seen, this is lookup() (deletions in them are seen at once).
   */
  lookupSeen(key: string): Located | null {
    if (this.looked && this.packs.size === 0) return null;
    return this.lookup(key);
  }

  private find(key: string): Located | null {
    for (const p of this.packs.values()) {
      const e = p.entries.get(key);
      if (e && !p.dead.has(key)) return { pack: p, offset: e.offset, length: e.length };
    }
    return null;
  }

  readSync(loc: Located): Buffer {
    const b = Buffer.allocUnsafe(loc.length);
    const n = readSync(loc.pack.fd, b, 0, loc.length, loc.offset);
    if (n !== loc.length) throw new Error(`${loc.pack.path}: short read`);
    return b;
  }

  async read(loc: Located): Promise<Buffer> {
    // a pack removed meanwhile (all its objects deleted) is still readable through the open descriptor
    const fh = await open(loc.pack.path, 'r').catch(() => null);
    if (!fh) return this.readSync(loc);
    try {
      const b = Buffer.allocUnsafe(loc.length);
      const { bytesRead } = await fh.read(b, 0, loc.length, loc.offset);
      if (bytesRead !== loc.length) throw new Error(`${loc.pack.path}: short read`);
      return b;
    } finally {
      await fh.close();
    }
  }

  stat(key: string): { size: number; mtimeMs: number } | null {
    const loc = this.lookup(key);
    return loc ? { size: loc.length, mtimeMs: loc.pack.mtimeMs } : null;
  }

  /** Sets the pack's mtime (gc's grace period counts from it for every object in it); false if not packed. */
  touch(key: string): boolean {
    const loc = this.lookup(key);
    if (!loc) return false;
    const now = new Date();
    utimesSync(loc.pack.path, now, now);
    loc.pack.mtimeMs = now.getTime();
    return true;
  }

  /** Live packed objects whose keys start with prefix, sorted by key (null: there are no packs). */
  list(prefix: string): { key: string; size: number; mtimeMs: number }[] | null {
    if (!this.current()) return null;
    const out = new Map<string, { key: string; size: number; mtimeMs: number }>();
    for (const p of this.packs.values())
      for (const [key, e] of p.entries) {
        if (key.startsWith(prefix) && !p.dead.has(key) && !out.has(key)) out.set(key, { key, size: e.length, mtimeMs: p.mtimeMs });
      }
    return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Deletes a packed object (every copy): rewrites the .dead lists; removes packs left with nothing live. */
  async remove(key: string): Promise<void> {
    if (!this.current()) return;
    let changed = false;
    for (const p of [...this.packs.values()]) {
      if (!p.entries.has(key) || p.dead.has(key)) continue;
      changed = true;
      const dead = new Set(p.dead).add(key);
      if (dead.size >= p.entries.size && [...p.entries.keys()].every((r) => dead.has(r))) {
        unlinkSync(p.path);
        try {
          unlinkSync(join(this.dir, `${p.id}.dead`));
        } catch (e) {
          if (!isCode(e, 'ENOENT')) throw e;
        }
      } else {
        const tmp = join(this.dir, `${p.id}.dead.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
        const fh = await open(tmp, 'wx');
        try {
          await fh.writeFile([...dead].join('\n') + '\n');
          if (this.fsync) await fh.sync();
        } finally {
          await fh.close();
        }
        renameSync(tmp, join(this.dir, `${p.id}.dead`));
      }
      p.dead = dead;
    }
    if (changed && this.fsync) {
      const fh = await open(this.dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
}
