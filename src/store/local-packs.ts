// Pack files of a local data directory: objects written in bulk (import-git) in one file, not one file
// each. Creating a file costs the filesystem an inode and a directory entry (on a busy ext4 several hundred
// microseconds of kernel time); a history of 10k commits is ~80k objects and records.
//
//   packs~/<id>.pack   objects back to back, an index and a trailer (the format: pack-index.ts)
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
//
// A damaged pack (truncated, zero-length after a crash, an index that does not add up, unreadable) affects
// only the objects in it: it is left out of every lookup (other packs and loose files serve as before), it is
// logged once (warn, with its path and what is wrong), damagedPacks() names it for `mic fsck`, and a miss of
// a key it may hold says so (whyMissing). An object whose packed bytes fail the reader's hash check, or whose
// read fails, is reported (reportCorrupt / the read's CorruptObjectError): that copy is skipped from then on,
// so a loose copy or one in another pack serves the next read; so is an object whose bytes fail their
// CRC-32. The index itself has no checksum, so it is checked for what it must be: valid packable keys whose
// objects tile the bytes between header and index.
import type { Logger } from 'pino';
import { closeSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { PACKABLE, PACKS_DIR, readPackIndex, type Entry } from './pack-index.js';
import { isCode } from '../../util/errno.js';
import { CorruptObjectError } from './errors.js';

/** A pack that could not be used whole (whole: its index is unreadable) or holds objects that failed. */
export interface DamagedPack {
  path: string;
  reason: string;
  /** true: left out entirely (no object of it is served); false: only `objects` are */
  whole: boolean;
  /** the objects of it found corrupt or unreadable (whole: none known) */
  objects: string[];
}

interface Damage extends DamagedPack {
  /** ino/size/mtime of the file judged (whole): judged again only when it changes */
  identity: string;
  /** its unavailability was logged (once) */
  warned: boolean;
}

export interface Located {
  key: string;
  pack: Pack;
  offset: number;
  length: number;
  /** the CRC-32 its bytes must have (packs with checksums, keys not content-addressed) */
  crc?: number;
}

interface Pack {
  id: string;
  path: string;
  fd: number;
  ino: bigint;
  mtimeMs: number;
  /** key -> offset, length */
  entries: Map<string, Entry>;
  dead: Set<string>;
  deadVersion: string;
  /** objects of it that failed a read or a hash check: skipped by lookups */
  bad: Set<string>;
}

const hex32 = (n: number) => n.toString(16).padStart(8, '0');

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
  /** by pack id: what is wrong with it (logged once) */
  private readonly damage = new Map<string, Damage>();
  private readonly dir: string;

  /** once: the packs are read at the first lookup and never again (a bulk writer's dedup check) */
  constructor(
    root: string,
    private readonly fsync: boolean,
    private readonly opts: { once?: boolean; log?: Logger; elsewhere?: (key: string) => boolean } = {},
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
      this.damage.clear();
      this.version = this.opts.once ? 'none' : '';
      return false;
    }
    const version = `${st.ino}/${st.mtimeNs}`;
    if (this.version === version) return this.packs.size > 0;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      // the directory itself cannot be read: the packs already open go on serving; looked at again next time
      this.damaged('', this.dir, `packs directory unreadable: ${(e as Error).message}`, version, true);
      return this.packs.size > 0;
    }
    this.damage.delete('');
    this.version = version;
    const seen = new Set<string>();
    for (const name of names) {
      if (!name.endsWith('.pack')) continue;
      const id = name.slice(0, -'.pack'.length);
      const path = join(this.dir, name);
      const pst = statSync(path, { bigint: true, throwIfNoEntry: false });
      if (!pst) continue;
      seen.add(id);
      let p: Pack | null | undefined = this.packs.get(id);
      if (!p || p.ino !== pst.ino) {
        if (p) closeSync(p.fd);
        this.packs.delete(id);
        p = this.open(id, path, pst);
        if (!p) continue;
        this.packs.set(id, p);
      }
      p.mtimeMs = Number(pst.mtimeMs);
      try {
        const d = readDead(join(this.dir, `${id}.dead`));
        if (d.version !== p.deadVersion) {
          p.dead = d.set;
          p.deadVersion = d.version;
        }
      } catch (e) {
        // what was deleted cannot be read: deleted objects stay readable (harmless), nothing else changes
        this.damaged(id, path, `deletion list unreadable: ${(e as Error).message}`, '', false);
      }
    }
    for (const [id, p] of this.packs)
      if (!seen.has(id)) {
        closeSync(p.fd);
        this.packs.delete(id);
      }
    for (const id of this.damage.keys()) if (id && !seen.has(id)) this.damage.delete(id);
    return this.packs.size > 0;
  }

  /** Closes the packs' descriptors (a snapshot reader done with them; the next lookup opens them again). */
  close(): void {
    for (const p of this.packs.values()) closeSync(p.fd);
    this.packs.clear();
    this.version = '';
  }

  /** Opens a pack and reads its index; null (logged once, left out) when it is damaged or unreadable. */
  private open(id: string, path: string, pst: { ino: bigint; size: bigint; mtimeMs: bigint; mtimeNs: bigint }): Pack | null {
    const identity = `${pst.ino}/${pst.size}/${pst.mtimeNs}`;
    const known = this.damage.get(id);
    if (known?.whole && known.identity === identity) return null;
    let fd = -1;
    try {
      fd = openSync(path, 'r');
      const entries = readPackIndex(fd, Number(pst.size));
      this.damage.delete(id);
      return { id, path, fd, ino: pst.ino, mtimeMs: Number(pst.mtimeMs), entries, dead: new Set(), deadVersion: '', bad: new Set() };
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      this.damaged(id, path, (e as Error).message, identity, true);
      return null;
    }
  }

  /** Records (and logs, once per pack and judgement) what is wrong with a pack. A failed object that another
   *  copy serves (opts.elsewhere, another pack) is only noted (info): nothing is unavailable. */
  private damaged(id: string, path: string, reason: string, identity: string, whole: boolean, object?: string): void {
    let d = this.damage.get(id);
    const fresh = !d || (whole && (!d.whole || d.identity !== identity));
    if (!d || fresh) {
      d = { path, reason, whole, objects: [], identity, warned: false };
      this.damage.set(id, d);
    }
    if (object && !d.objects.includes(object)) {
      d.objects.push(object);
      if (!whole && (this.find(object) || this.opts.elsewhere?.(object))) {
        this.opts.log?.info({ pack: path, reason, object }, 'a damaged copy in a pack file is skipped: another copy serves the object');
        return;
      }
    }
    if (fresh || !d.warned) {
      d.warned = true;
      this.opts.log?.warn(
        { pack: path, reason, object },
        whole
          ? 'damaged pack file left out: its objects are unavailable, everything else is served'
          : 'damaged pack file: some of its objects are unavailable',
      );
    }
  }

  /** The packs found damaged so far (after a look at the directory). */
  damagedPacks(): DamagedPack[] {
    this.current();
    return [...this.damage.values()].map(({ path, reason, whole, objects }) => ({ path, reason, whole, objects: [...objects] }));
  }

  /**
   * The damage the store still feels: packs left out whole, and packs with failed objects that nothing else
   * serves: not deleted since (gc, a record removed), no sound copy in another pack, and no other copy
   * elsewhere (servedElsewhere: the caller's loose files). A damaged copy that another one superseded is not
   * counted (the mic_store_damaged_packs gauge; fsck goes further and reads the other copy).
   */
  neededDamage(servedElsewhere: (key: string) => boolean): DamagedPack[] {
    this.current();
    const out: DamagedPack[] = [];
    for (const [id, d] of this.damage) {
      const p = this.packs.get(id);
      if (d.whole) {
        out.push({ path: d.path, reason: d.reason, whole: true, objects: [] });
        continue;
      }
      if (!p) continue; // removed since (all its objects deleted)
      const objects = d.objects.filter((k) => !p.dead.has(k) && !this.find(k) && !servedElsewhere(k));
      if (objects.length) out.push({ path: d.path, reason: d.reason, whole: false, objects });
    }
    return out;
  }

  /** mic fsck: reads every live object that carries a CRC-32 (packs with checksums: objects not named by their
   *  hash, which no other check reads all of) and checks it; one that fails is recorded as damaged (as a
   *  read finding it would: damagedPacks, skipped from then on). Returns how many were checked. */
  verifyChecksums(): number {
    if (!this.current()) return 0;
    let n = 0;
    for (const p of [...this.packs.values()])
      for (const [key, e] of p.entries) {
        if (e.crc === undefined || p.dead.has(key) || p.bad.has(key)) continue;
        n++;
        try {
          this.readSync({ key, pack: p, offset: e.offset, length: e.length, crc: e.crc });
        } catch (err) {
          if (!(err instanceof CorruptObjectError)) throw err;
        }
      }
    return n;
  }

  /**
   * The copy of key that a get returned failed its check (hash, decoding): it is skipped from now on, so the
   * next get serves a loose copy or another pack's. Returns where the bad copy was, or null (not packed).
   */
  reportCorrupt(key: string, detail: string): string | null {
    const loc = this.current() ? this.find(key) : null;
    if (!loc) return null;
    loc.pack.bad.add(key);
    this.damaged(loc.pack.id, loc.pack.path, `object ${key}: ${detail}`, '', false, key);
    return `in damaged pack ${loc.pack.path}`;
  }

  /** Why a key that may be packed was not found: the damaged packs that may hold it (null: none). */
  whyMissing(key: string): string | null {
    if (!PACKABLE.test(key)) return null;
    this.current();
    for (const p of this.packs.values())
      if (p.bad.has(key)) return `its copy in damaged pack ${p.path} failed (${this.damage.get(p.id)?.reason})`;
    const whole = [...this.damage.values()].filter((d) => d.whole);
    return whole.length ? `damaged pack file(s) may hold it: ${whole.map((d) => `${d.path} (${d.reason})`).join(', ')}` : null;
  }

  /** Where a packed object is, or null (not packed, or deleted). A key no pack may hold (readPackIndex
   *  refuses an index naming one) is not looked for: no pack directory scan or index read for it. */
  lookup(key: string): Located | null {
    if (!PACKABLE.test(key)) return null;
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
      if (e && !p.dead.has(key) && !p.bad.has(key)) return { key, pack: p, offset: e.offset, length: e.length, crc: e.crc };
    }
    return null;
  }

  readSync(loc: Located): Buffer {
    const b = Buffer.allocUnsafe(loc.length);
    let n: number;
    try {
      n = readSync(loc.pack.fd, b, 0, loc.length, loc.offset);
    } catch (e) {
      throw this.unreadable(loc, (e as Error).message);
    }
    if (n !== loc.length) throw this.unreadable(loc, `short read (${n} of ${loc.length} bytes at ${loc.offset}): truncated`);
    return this.checked(loc, b);
  }

  async read(loc: Located, alloc?: (n: number) => Buffer): Promise<Buffer> {
    // a pack removed meanwhile (all its objects deleted) is still readable through the open descriptor
    const fh = await open(loc.pack.path, 'r').catch(() => null);
    if (!fh) return this.readSync(loc);
    let bytesRead: number;
    const b = alloc ? alloc(loc.length) : Buffer.allocUnsafe(loc.length);
    try {
      ({ bytesRead } = await fh.read(b, 0, loc.length, loc.offset));
    } catch (e) {
      throw this.unreadable(loc, (e as Error).message);
    } finally {
      await fh.close();
    }
    if (bytesRead !== loc.length)
      throw this.unreadable(loc, `short read (${bytesRead} of ${loc.length} bytes at ${loc.offset}): truncated`);
    return this.checked(loc, b);
  }

  /** b, when it has the CRC-32 the index gives it (if any); else the object is corrupt (a flipped bit). */
  private checked(loc: Located, b: Buffer): Buffer {
    if (loc.crc === undefined) return b;
    const got = crc32(b) >>> 0;
    if (got === loc.crc) return b;
    throw this.unreadable(loc, `checksum mismatch (CRC-32 ${hex32(got)}, index says ${hex32(loc.crc)})`, 'damaged');
  }

  /** An object whose read failed: skipped from now on (another copy may serve), and the error to throw. */
  private unreadable(loc: Located, detail: string, what = 'unreadable'): CorruptObjectError {
    loc.pack.bad.add(loc.key);
    this.damaged(loc.pack.id, loc.pack.path, `object ${loc.key}: ${detail}`, '', false, loc.key);
    return new CorruptObjectError(loc.key, `${what} in pack ${loc.pack.path}: ${detail}`);
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
