// A project's history as stored: immutable head records (heads/<hash>, canonical JSON, each naming its
// parent) and the one mutable ref, "head", that names the current one and moves only by compare-and-swap.
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { HeadRecord, HeadRef } from './head-record.js';
import { sha256Hex } from './codec.js';
import { CorruptObjectError } from './errors.js';
import { HEAD_REF_REL_KEY, isHash, objectRelKey, validateHash } from './keys.js';
import type { ObjectIo } from './object-io.js';

export interface HeadState {
  ref: HeadRef;
  record: HeadRecord;
  version: string;
  hash: string;
}

export class HeadStore {
  private readonly headCache = new LRUCache<string, HeadRecord>({ max: 1024 });

  constructor(private readonly io: ObjectIo) {}

  /** The current head, or null when the project has none yet. */
  async getHead(): Promise<HeadState | null> {
    const key = this.io.key(HEAD_REF_REL_KEY);
    const got = await this.io.backend.getRef(key);
    if (!got) return null;
    let ref: HeadRef;
    try {
      ref = JSON.parse(got.data.toString('utf8')) as HeadRef;
    } catch {
      throw new CorruptObjectError(key, 'head ref is not JSON');
    }
    if (!Number.isSafeInteger(ref.generation) || typeof ref.nonce !== 'string' || typeof ref.head !== 'string' || !isHash(ref.head)) {
      throw new CorruptObjectError(key, 'malformed head ref');
    }
    const record = await this.getHeadRecord(ref.head);
    return { ref, record, version: got.version, hash: ref.head };
  }

  /**
   * Stores record, then moves the head ref to it if the ref is still at expectVersion
   * (null: no head yet). Resolves false when another writer got there first.
   */
  async casHead(expectVersion: string | null, prevGeneration: number, record: HeadRecord): Promise<boolean> {
    const head = await this.putHeadRecord(record, true);
    const ref: HeadRef = { generation: prevGeneration + 1, nonce: randomBytes(8).toString('hex'), head };
    return this.io.backend.casRef(this.io.key(HEAD_REF_REL_KEY), Buffer.from(JSON.stringify(ref)), expectVersion);
  }

  /** Stores an immutable head record as canonical JSON; returns its hash. now: a compare-and-swap names it
   *  next (ObjectIo.putObjectNow). */
  async putHeadRecord(record: HeadRecord, now = false): Promise<string> {
    const canonical = canonicalHeadRecord(record);
    const bytes = Buffer.from(JSON.stringify(canonical), 'utf8');
    const hash = sha256Hex(bytes);
    const key = this.io.key(objectRelKey('heads', hash));
    await (now ? this.io.putObjectNow(key, () => bytes) : this.io.putObject(key, () => bytes));
    this.headCache.set(hash, canonical);
    return hash;
  }

  async getHeadRecord(hash: string): Promise<HeadRecord> {
    validateHash(hash);
    const hit = this.headCache.get(hash);
    if (hit) return hit;
    const key = this.io.key(objectRelKey('heads', hash));
    // through fetchChecked: a copy that fails (a damaged pack's) gives way to another where there is one
    const record = await this.io.fetchChecked(key, (bytes) => {
      if (sha256Hex(bytes) !== hash) throw new CorruptObjectError(key, 'hash mismatch');
      try {
        return canonicalHeadRecord(JSON.parse(bytes.toString('utf8')) as HeadRecord);
      } catch (e) {
        throw new CorruptObjectError(key, (e as Error).message);
      }
    });
    this.headCache.set(hash, record);
    return record;
  }
}

/** Validates and rebuilds a head record with its keys in canonical order. */
function canonicalHeadRecord(r: HeadRecord): HeadRecord {
  const ok =
    typeof r === 'object' &&
    r !== null &&
    isHash(r.tree) &&
    Number.isSafeInteger(r.nextIno) &&
    r.nextIno >= 0 &&
    (r.parent === null || isHash(r.parent)) &&
    (r.session === null || typeof r.session === 'string') &&
    typeof r.message === 'string' &&
    typeof r.time === 'string';
  if (!ok) throw new TypeError('malformed head record');
  return Object.freeze({ tree: r.tree, nextIno: r.nextIno, parent: r.parent, session: r.session, message: r.message, time: r.time });
}
