// A local SSD cache of immutable, content-addressed objects (blobs, trees, head records), bounded in
// bytes. Entries are records in append-only pack files (cache-pack.ts) under <dir>/packs, indexed in RAM;
// opening the cache scans the packs (oldest first; a later record of a key wins, a tombstone removes it),
// so the cache survives restarts and crashes (a torn tail is ignored). Eviction deletes whole packs,
// oldest first, until the packs fit maxBytes. Every entry is verified against the hash in its key when read
// back (unless the caller checks it itself: get(key, false)); a corrupt one is dropped (a tombstone is
// appended) and reported as a miss, so the caller fetches it again.
// The S3 fetch worker appends and reads the copies of what it fetches itself (cache-file-io.ts: place,
// adopt, and get with a reader); the index and eviction stay here.
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  KIND_ENTRY,
  KIND_TOMBSTONE,
  PACK_BYTES_MAX,
  PACK_DIR,
  PACK_SUFFIX,
  PackAppender,
  scanPack,
  type PackLocation,
} from './cache-pack.js';
import { FORMAT_ZSTD, checkedHash, decodeStored, sha256Hex } from './codec.js';
import { storedBlobMatches } from './manifest.js';
import { CONTENT_KEY, isContentAddressedKey } from './keys.js';
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
  /** Upper bound of the bytes of all packs. */
  maxBytes: number;
  /** Checks an entry read back (default verifyContentAddressed). */
  verify?: (key: string, data: Buffer) => boolean;
}

export interface DiskCacheStats {
  hits: number;
  misses: number;
  /** entries that failed verification when read back (dropped) */
  corrupt: number;
  stores: number;
  evictions: number;
}

/** A pack as the index knows it: the bytes it takes on disk, the keys of the entries put in it (some may
 *  have moved on to a later record since). */
interface Pack {
  name: string;
  /** its path (joined once, not per read) */
  file: string;
  bytes: number;
  keys: string[];
}

interface Entry {
  pack: Pack;
  offset: number;
  size: number;
  /** read since it was written: copied forward when its pack is evicted (a second chance) */
  hit?: boolean;
}

/** Evicted packs remembered, so that a late adopt of a copy written into one is not taken in. */
const GONE_MAX = 1024;

export class DiskCache {
  readonly dir: string;
  /** where the packs live */
  readonly packDir: string;
  readonly maxBytes: number;
  /** the size a writer starts a new pack at: an eighth of the bound (eviction frees that much at a time) */
  readonly packBytes: number;
  readonly stats: DiskCacheStats = { hits: 0, misses: 0, corrupt: 0, stores: 0, evictions: 0 };
  private readonly verify: (key: string, data: Buffer) => boolean;
  /** key -> where its copy lies; least recently used first */
  private readonly entries = new Map<string, Entry>();
  /** packs, oldest first */
  private readonly packs = new Map<string, Pack>();
  private readonly gone = new Set<string>();
  private total = 0;
  private opening: Promise<void> | null = null;
  private readonly appender: PackAppender;

  constructor(dir: string, opts: DiskCacheOptions) {
    this.dir = resolve(dir);
    this.packDir = join(this.dir, PACK_DIR);
    this.maxBytes = Math.max(0, Math.floor(opts.maxBytes));
    this.packBytes = Math.max(1, Math.min(PACK_BYTES_MAX, Math.floor(this.maxBytes / 8)));
    this.verify = opts.verify ?? verifyContentAddressed;
    this.appender = new PackAppender(this.packDir, this.packBytes);
  }

  /** Creates the directory and indexes what an earlier run left there. */
  static async open(dir: string, opts: DiskCacheOptions): Promise<DiskCache> {
    const c = new DiskCache(dir, opts);
    await c.ready();
    return c;
  }

  /** Resolves once the packs are scanned (done once, on first use). */
  ready(): Promise<void> {
    if (!this.opening) {
      this.opening = this.scan();
      this.opening.catch(() => {
        this.opening = null;
      }); // let a later call retry
    }
    return this.opening;
  }

  /** Bytes the packs take. */
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

  /** Where key's copy lies (file, offset and length of its data), or null. */
  locate(key: string): { file: string; offset: number; size: number } | null {
    const e = this.entries.get(key);
    return e ? { file: e.pack.file, offset: e.offset, size: e.size } : null;
  }

  /** Can this key be cached at all? */
  cacheable(key: string, size?: number): boolean {
    return this.maxBytes > 0 && isContentAddressedKey(key) && (size === undefined || size <= this.maxBytes);
  }

  /** Where a writer elsewhere (the S3 fetch worker) appends its copies (cache-file-io.ts appendCached). */
  place(): { packDir: string; packBytes: number } {
    return { packDir: this.packDir, packBytes: this.packBytes };
  }

  /**
   * The verified bytes, or null on a miss (a corrupt entry is dropped and counts as a miss).
   * check=false skips the hash for a caller that checks the bytes itself (and discards a bad entry).
   * read: reads the entry instead of this thread (null: not there), e.g. the S3 fetch worker, which checks
   * the bytes there (codec.ts markChecked) so that the check here costs no hash.
   */
  async get(
    key: string,
    check = true,
    read?: (file: string, offset: number, size: number) => Promise<Buffer | null>,
  ): Promise<Buffer | null> {
    await this.ready();
    const e = this.entries.get(key);
    if (!e) {
      this.stats.misses++;
      return null;
    }
    const file = e.pack.file;
    const data = read ? await read(file, e.offset, e.size) : await readAt(file, e.offset, e.size);
    if (data === null) {
      if (this.entries.get(key) === e) this.entries.delete(key); // its pack was evicted or removed behind our back
      this.stats.misses++;
      return null;
    }
    if (check && !this.verify(key, data)) {
      this.stats.corrupt++;
      this.stats.misses++;
      if (this.entries.get(key) === e) await this.delete(key);
      return null;
    }
    this.stats.hits++;
    e.hit = true;
    this.entries.delete(key);
    this.entries.set(key, e); // the most recently used
    return data;
  }

  /** Stores an entry (unless not cacheable or already held), then evicts down to maxBytes. */
  async put(key: string, data: Buffer): Promise<boolean> {
    await this.ready();
    if (!this.cacheable(key, data.length)) return false;
    if (this.entries.has(key)) return true;
    const loc = await this.appender.append(key, data);
    if (!loc) throw new Error(`the disk cache could not write ${key}`);
    this.take(key, loc);
    await this.evict(key);
    return true;
  }

  /** Takes in an entry appended to a pack of this cache by someone else (the S3 fetch worker, in full), then
   *  evicts down to maxBytes. */
  async adopt(key: string, loc: PackLocation): Promise<void> {
    await this.ready();
    if (!this.cacheable(key, loc.size) || this.gone.has(loc.pack)) return;
    this.take(key, loc);
    await this.evict(key);
  }

  /** Closes the pack this cache appends to (a later put starts a new one). */
  close(): void {
    this.appender.close();
  }

  /** Drops key's entry; a tombstone keeps it dropped across a restart. */
  async delete(key: string): Promise<void> {
    await this.ready();
    if (!isContentAddressedKey(key)) return;
    if (!this.entries.delete(key)) return;
    const loc = await this.appender.append(key, null, KIND_TOMBSTONE);
    if (loc) this.account(loc);
  }

  private take(key: string, loc: PackLocation): void {
    const pack = this.account(loc);
    this.entries.delete(key);
    this.entries.set(key, { pack, offset: loc.offset, size: loc.size });
    pack.keys.push(key);
    this.stats.stores++;
  }

  /** Counts a record's bytes to its pack (a pack seen for the first time is the newest). */
  private account(loc: PackLocation): Pack {
    let pack = this.packs.get(loc.pack);
    if (!pack) {
      pack = { name: loc.pack, file: join(this.packDir, loc.pack), bytes: 0, keys: [] };
      this.packs.set(loc.pack, pack);
    }
    pack.bytes += loc.recordBytes;
    this.total += loc.recordBytes;
    return pack;
  }

  /** Deletes the oldest packs until the total fits (never the pack of `keep`, the entry just added, nor the
   *  newest pack). Entries read since they were written get a second chance: up to half a pack of them is
   *  copied to a new record first, so a hot object does not leave the cache with the cold ones around it. */
  private async evict(keep?: string): Promise<void> {
    const keepPack = keep === undefined ? undefined : this.entries.get(keep)?.pack;
    const victims: Pack[] = [];
    for (const p of this.packs.values()) {
      if (this.total <= this.maxBytes || this.packs.size - victims.length <= 1) break;
      if (p === keepPack) continue;
      victims.push(p);
      this.total -= p.bytes;
    }
    if (victims.length === 0) return;
    const hot: { key: string; e: Entry }[] = [];
    let budget = this.packBytes / 2;
    for (const p of victims) {
      this.packs.delete(p.name);
      this.gone.add(p.name);
      for (const key of p.keys) {
        const e = this.entries.get(key);
        if (e?.pack !== p) continue;
        this.entries.delete(key);
        if (e.hit && e.size <= budget) {
          budget -= e.size;
          hot.push({ key, e });
        } else this.stats.evictions++;
      }
    }
    for (const { key, e } of hot) {
      const data = await readAt(e.pack.file, e.offset, e.size).catch(() => null);
      const loc = data && !this.entries.has(key) ? await this.appender.append(key, data) : null;
      if (loc && !this.entries.has(key)) this.take(key, loc);
      else this.stats.evictions++;
    }
    for (const name of this.gone) {
      if (this.gone.size <= GONE_MAX) break;
      this.gone.delete(name);
    }
    // a writer still appending to one of them notices (its pack has no name left) and starts a new one
    await Promise.all(victims.map((p) => rm(p.file, { force: true })));
  }

  private async scan(): Promise<void> {
    await mkdir(this.packDir, { recursive: true });
    // anything beside the packs (the cache's older layout of a file per object, a stray file) goes
    for (const name of await readdir(this.dir)) {
      if (name !== PACK_DIR) await rm(join(this.dir, name), { recursive: true, force: true });
    }
    const names = (await readdir(this.packDir)).sort();
    this.entries.clear();
    this.packs.clear();
    this.total = 0;
    for (const name of names) {
      const file = join(this.packDir, name);
      if (!name.endsWith(PACK_SUFFIX)) {
        await rm(file, { recursive: true, force: true });
        continue;
      }
      let scanned: Awaited<ReturnType<typeof scanPack>>;
      try {
        scanned = await scanPack(file);
      } catch (e) {
        if (isCode(e, 'ENOENT')) continue;
        throw e;
      }
      const pack: Pack = { name, file, bytes: scanned.fileBytes, keys: [] };
      this.packs.set(name, pack);
      this.total += pack.bytes;
      for (const r of scanned.records) {
        this.entries.delete(r.key);
        if (r.kind !== KIND_ENTRY || !isContentAddressedKey(r.key)) continue;
        this.entries.set(r.key, { pack, offset: r.offset, size: r.size });
        pack.keys.push(r.key);
      }
    }
    await this.evict();
  }
}

/** size bytes at offset of file (null: the file, or that many bytes, is not there). */
async function readAt(file: string, offset: number, size: number): Promise<Buffer | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if (isCode(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) return null;
    throw e;
  }
  try {
    const b = Buffer.allocUnsafe(size);
    for (let got = 0; got < size;) {
      const { bytesRead } = await fh.read(b, got, size - got, offset + got);
      if (bytesRead === 0) return null;
      got += bytesRead;
    }
    return b;
  } finally {
    await fh.close();
  }
}
