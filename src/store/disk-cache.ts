// A local SSD cache of immutable, content-addressed objects (blobs, trees, head records), bounded in
// bytes with least-recently-used eviction. Files live at <dir>/<key>, so the cache survives restarts:
// opening it scans the directory and orders entries by modification time, which a hit refreshes (at most every 10 minutes).
// Every entry is verified against the hash in its key when read back (unless the caller checks it
// itself: get(key, false)); a corrupt one is deleted and reported as a miss, so the caller fetches it again.
import { mkdir, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FORMAT_ZSTD, checkedHash, decodeStored, sha256Hex } from './codec.js';
import { storedBlobMatches } from './manifest.js';
import { CONTENT_KEY, isContentAddressedKey, validateRelKey } from './keys.js';
import { isCode } from '../../util/errno.js';

export { isContentAddressedKey };

/**
 * Does data match the hash its key names? Blobs and trees are stored encoded (codec.ts) and hashed
 * decoded; head records are hashed as stored.
 */
export function verifyContentAddressed(key: string, data: Buffer): boolean {
  const m = CONTENT_KEY.exec(key);
  if (!m || !m[3]!.startsWith(m[2]!)) return false;
  const hash = m[3]!;
  if (checkedHash(data) === hash) return true; // checked by the S3 fetch worker
  if (m[1] === 'heads') return sha256Hex(data) === hash;
  if (m[1] === 'blobs') return storedBlobMatches(data, hash); // a chunk manifest too (manifest.ts)
  try {
    return sha256Hex(decodeStored(data)) === hash;
  } catch {
    return false;
  }
}

/**
 * verifyContentAddressed, keeping the content a check had to decompress (a zstd blob or tree node): the S3
 * fetch worker sends it along, so the main thread does not decompress it again (codec.ts checkedContent).
 */
export function checkContentAddressed(key: string, data: Buffer): { ok: boolean; content?: Buffer } {
  const m = CONTENT_KEY.exec(key);
  if (!m || m[1] === 'heads' || data[0] !== FORMAT_ZSTD) return { ok: verifyContentAddressed(key, data) };
  if (!m[3]!.startsWith(m[2]!)) return { ok: false };
  try {
    const content = decodeStored(data);
    return sha256Hex(content) === m[3] ? { ok: true, content } : { ok: false };
  } catch {
    return { ok: false };
  }
}

export interface DiskCacheOptions {
  /** Upper bound of the bytes of all entries. */
  maxBytes: number;
  /** Checks an entry read back (default verifyContentAddressed). */
  verify?: (key: string, data: Buffer) => boolean;
}

export interface DiskCacheStats {
  hits: number;
  misses: number;
  /** entries that failed verification when read back (deleted) */
  corrupt: number;
  stores: number;
  evictions: number;
}

/** A hit refreshes its file's mtime only when the last refresh is older than this. */
const STAMP_MS = 10 * 60_000;

export class DiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly stats: DiskCacheStats = { hits: 0, misses: 0, corrupt: 0, stores: 0, evictions: 0 };
  private readonly verify: (key: string, data: Buffer) => boolean;
  /** key -> its size and when its file's mtime was last set (the order a restart rebuilds); least recently used first */
  private readonly entries = new Map<string, { size: number; stamp: number }>();
  private total = 0;
  private opening: Promise<void> | null = null;
  /** directories made (or found) by this process, so a put skips its mkdir */
  private readonly dirs = new Set<string>();
  /** temporary names: unique per process, then a counter */
  private readonly tmpPrefix = randomBytes(4).toString('hex');
  private tmpSeq = 0;

  constructor(dir: string, opts: DiskCacheOptions) {
    this.dir = resolve(dir);
    this.maxBytes = Math.max(0, Math.floor(opts.maxBytes));
    this.verify = opts.verify ?? verifyContentAddressed;
  }

  /** Creates the directory and indexes what an earlier run left there. */
  static async open(dir: string, opts: DiskCacheOptions): Promise<DiskCache> {
    const c = new DiskCache(dir, opts);
    await c.ready();
    return c;
  }

  /** Resolves once the directory is scanned (done once, on first use). */
  ready(): Promise<void> {
    if (!this.opening) {
      this.opening = this.scan();
      this.opening.catch(() => {
        this.opening = null;
      }); // let a later call retry
    }
    return this.opening;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.total;
  }

  /** Entries held. */
  get count(): number {
    return this.entries.size;
  }

  /** Keys held, least recently used first. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Whether the cache holds the key (without reading it); only meaningful after ready(). */
  holds(key: string): boolean {
    return this.entries.has(key);
  }

  /** Can this key be cached at all? */
  cacheable(key: string, size?: number): boolean {
    return isContentAddressedKey(key) && (size === undefined || size <= this.maxBytes);
  }

  /**
   * The verified bytes, or null on a miss (a corrupt entry is deleted and counts as a miss).
   * check=false skips the hash for a caller that checks the bytes itself (and deletes a bad entry).
   * read: reads the entry's file instead of readFile (null: no such file), e.g. in the S3 fetch worker,
   * which checks the bytes there (codec.ts markChecked) so that the check here costs no hash.
   */
  async get(key: string, check = true, read?: (file: string) => Promise<Buffer | null>): Promise<Buffer | null> {
    await this.ready();
    if (!this.entries.has(key)) {
      this.stats.misses++;
      return null;
    }
    const path = this.pathOf(key);
    let data: Buffer | null;
    try {
      data = read ? await read(path) : await readFile(path);
    } catch (e) {
      if (!isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw e;
      data = null;
    }
    if (data === null) {
      this.forget(key); // evicted or removed behind our back
      this.stats.misses++;
      return null;
    }
    if (check && !this.verify(key, data)) {
      this.stats.corrupt++;
      this.stats.misses++;
      this.forget(key);
      await rm(path, { force: true });
      return null;
    }
    this.stats.hits++;
    const e = this.touch(key);
    // recency for the next start, on disk at STAMP_MS granularity (not a metadata write per hit)
    const now = Date.now();
    if (e && now - e.stamp > STAMP_MS) {
      e.stamp = now;
      utimes(path, now / 1000, now / 1000).catch(() => {});
    }
    return data;
  }

  /** Stores an entry (unless not cacheable or already held), then evicts down to maxBytes. */
  async put(key: string, data: Buffer): Promise<boolean> {
    await this.ready();
    if (!this.cacheable(key, data.length)) return false;
    if (this.entries.has(key)) {
      this.touch(key);
      return true;
    }
    const path = this.pathOf(key);
    const tmp = `${path}~${this.tmpPrefix}${(this.tmpSeq++).toString(36)}`;
    try {
      const dir = dirname(path);
      if (!this.dirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.dirs.add(dir);
      }
      await writeFile(tmp, data).catch(async (e: unknown) => {
        if (!isCode(e, 'ENOENT')) throw e;
        await mkdir(dir, { recursive: true }); // removed behind our back
        await writeFile(tmp, data);
      });
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    if (!this.entries.has(key)) {
      this.entries.set(key, { size: data.length, stamp: Date.now() });
      this.total += data.length;
      this.stats.stores++;
    }
    await this.evict(key);
    return true;
  }

  /** The file an entry of key lives in (for a writer elsewhere: see adopt). */
  fileOf(key: string): string {
    return this.pathOf(key);
  }

  /**
   * Takes in an entry whose file was written at fileOf(key) by someone else (the S3 fetch worker, in full,
   * renamed into place), then evicts down to maxBytes.
   */
  async adopt(key: string, size: number): Promise<void> {
    await this.ready();
    if (!this.cacheable(key, size)) {
      await rm(this.pathOf(key), { force: true });
      return;
    }
    if (this.entries.has(key)) {
      this.touch(key);
      return;
    }
    this.entries.set(key, { size, stamp: Date.now() });
    this.total += size;
    this.stats.stores++;
    await this.evict(key);
  }

  async delete(key: string): Promise<void> {
    await this.ready();
    if (!isContentAddressedKey(key)) return;
    this.forget(key);
    await rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    validateRelKey(key);
    return join(this.dir, key);
  }

  /** Makes the entry the most recently used; returns it. */
  private touch(key: string): { size: number; stamp: number } | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e;
  }

  private forget(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.total -= e.size;
  }

  /** Removes least recently used entries until the total fits (never `keep`, the entry just added). */
  private async evict(keep?: string): Promise<void> {
    const victims: string[] = [];
    for (const [key, { size }] of this.entries) {
      if (this.total <= this.maxBytes) break;
      if (key === keep) continue;
      this.entries.delete(key);
      this.total -= size;
      victims.push(key);
    }
    this.stats.evictions += victims.length;
    await Promise.all(victims.map((k) => rm(this.pathOf(k), { force: true })));
  }

  private async scan(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const found: { key: string; size: number; mtimeMs: number }[] = [];
    const dirents = await readdir(this.dir, { recursive: true, withFileTypes: true });
    for (const d of dirents) {
      if (!d.isFile()) continue;
      const abs = join(d.parentPath ?? (d as unknown as { path: string }).path, d.name);
      const key = relative(this.dir, abs).split(sep).join('/');
      if (key.includes('~') || !isContentAddressedKey(key)) {
        await unlink(abs).catch(() => {}); // an interrupted write, or something that is not ours to keep
        continue;
      }
      try {
        const st = await stat(abs);
        found.push({ key, size: st.size, mtimeMs: st.mtimeMs });
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e;
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.key < b.key ? -1 : 1));
    this.entries.clear();
    this.total = 0;
    for (const f of found) {
      this.entries.set(f.key, { size: f.size, stamp: f.mtimeMs });
      this.total += f.size;
    }
    await this.evict();
  }
}
