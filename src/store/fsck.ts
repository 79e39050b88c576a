// Checking a project's store: every head record, tree node, blob and chunk reachable from the heads (and
// from the roots a caller adds: session documents, src/session/fsck.ts) is read from the backend, its hash
// checked, and every reference it makes followed. Nothing is cached and nothing is changed. A problem names
// the object's key and what refers to it (a head, and the path inside its tree).
import { decodeStored, sha256Hex } from './codec.js';
import { decodeManifest, isManifest } from './manifest.js';
import { CorruptObjectError, MissingObjectError } from './errors.js';
import { HEAD_REF_REL_KEY, isHash, objectRelKey } from './keys.js';
import { Limiter } from './limiter.js';
import { EMPTY_TREE, decodeNode, type TreeNode } from './tree-codec.js';
import type { ObjectStore } from './object-store.js';

export interface FsckProblem {
  /** missing: referenced and absent; corrupt: present and wrong (hash, format, size); invalid: a ref or document */
  kind: 'missing' | 'corrupt' | 'invalid';
  /** the backend key */
  key: string;
  detail: string;
  /** who names it, e.g. "head 3f2a9c1b04de: src/main.c" or "session s1 (metadata.json sealed.tree)" */
  referenced_by: string;
}

export interface FsckReport {
  project: string;
  heads: number;
  trees: number;
  blobs: number;
  chunks: number;
  /** stored bytes read */
  bytes: number;
  problems: FsckProblem[];
}

export interface FsckOptions {
  /** concurrent backend reads (default 16) */
  concurrency?: number;
  /** adds roots beyond the head records (session documents) */
  roots?: (c: Checker) => Promise<void>;
}

const short = (h: string) => h.slice(0, 12);

/** Walks and checks; each object once. */
export class Checker {
  readonly report: FsckReport;
  private readonly seen = new Set<string>();
  private readonly limiter: Limiter;

  constructor(
    readonly store: ObjectStore,
    concurrency = 16,
  ) {
    this.report = { project: store.project, heads: 0, trees: 0, blobs: 0, chunks: 0, bytes: 0, problems: [] };
    this.limiter = new Limiter(concurrency);
  }

  problem(kind: FsckProblem['kind'], key: string, detail: string, by: string): void {
    // where the store knows more (LocalBackend: the damaged pack the copy is in, or that may hold it), say it
    const b = this.store.backend;
    const where = kind === 'corrupt' ? b.reportCorrupt?.(key, detail) : kind === 'missing' ? b.whyMissing?.(key) : null;
    this.report.problems.push({ kind, key, detail: where ? `${detail} (${where})` : detail, referenced_by: by });
  }

  private first(kind: string, hash: string): boolean {
    const k = `${kind}:${hash}`;
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    return true;
  }

  /** The stored bytes; null: absent; undefined: unreadable (a problem is recorded). */
  private async read(key: string, by: string): Promise<Buffer | null | undefined> {
    let b: Buffer | null;
    try {
      b = await this.limiter.run(() => this.store.backend.get(key));
    } catch (e) {
      if (!(e instanceof CorruptObjectError)) throw e;
      this.report.problems.push({ kind: 'corrupt', key, detail: e.detail, referenced_by: by });
      return undefined;
    }
    if (b) this.report.bytes += b.length;
    return b;
  }

  /**
   * The stored bytes that pass `verify` (which answers null, or what is wrong with them). A copy that fails is
   * reported (LocalBackend then skips a damaged packed copy) and the next copy is read, as the daemon's reads
   * do (object-io.ts fetchChecked): an object another copy superseded is not a problem. null: absent;
   * undefined: no sound copy (a problem is recorded).
   */
  private async readSound(key: string, by: string, verify: (stored: Buffer) => string | null): Promise<Buffer | null | undefined> {
    let failed: string | null = null; // the last copy that failed, and where it was
    for (let copies = 1; ; copies++) {
      const stored = await this.read(key, by);
      if (stored === null && failed !== null) break; // no other copy: the one found is corrupt, not missing
      if (!stored) return stored;
      const bad = verify(stored);
      if (bad === null) return stored;
      const where = this.store.backend.reportCorrupt?.(key, bad);
      failed = where ? `${bad} (${where})` : bad;
      if (!where || copies >= 8) break;
    }
    this.report.problems.push({ kind: 'corrupt', key, detail: failed, referenced_by: by });
    return undefined;
  }

  /** A head record, its tree and its ancestors. */
  async head(hash: string, by: string): Promise<void> {
    if (!this.first('head', hash)) return;
    this.report.heads++;
    const key = this.store.key(objectRelKey('heads', hash));
    let rec;
    try {
      rec = await this.limiter.run(() => this.store.getHeadRecord(hash));
    } catch (e) {
      if (e instanceof MissingObjectError) return this.problem('missing', key, 'head record not in the store', by);
      if (e instanceof CorruptObjectError || e instanceof TypeError) return this.problem('corrupt', key, (e as Error).message, by);
      throw e;
    }
    const me = `head ${short(hash)}`;
    await Promise.all([this.tree(rec.tree, `${me}: /`), rec.parent ? this.head(rec.parent, `${me} (parent)`) : undefined]);
  }

  /** A directory tree node and everything under it; path is where it sits ("head ...: dir/sub"). */
  async tree(hash: string, by: string): Promise<void> {
    if (hash === EMPTY_TREE || !this.first('tree', hash)) return;
    this.report.trees++;
    const key = this.store.key(objectRelKey('trees', hash));
    let node: TreeNode | undefined;
    const stored = await this.readSound(key, by, (s) => {
      try {
        const bytes = decodeStored(s);
        if (sha256Hex(bytes) !== hash) return 'content does not match its hash';
        node = decodeNode(bytes);
        return null;
      } catch (e) {
        return `undecodable tree node: ${(e as Error).message}`;
      }
    });
    if (stored === undefined) return;
    if (!stored || !node) return this.problem('missing', key, 'tree node not in the store', by);
    const base = by.endsWith('/') ? by : `${by}/`;
    const next: Promise<void>[] = [];
    if (node.type === 'split') {
      for (const b of node.buckets) if (b) next.push(this.tree(b, by));
    } else {
      for (const e of node.entries) {
        if (e.kind === 'dir' && e.hash) next.push(this.tree(e.hash, `${base}${e.name}/`));
        else if (e.kind === 'file' && e.hash) next.push(this.blob(e.hash, `${base}${e.name}`, e.size));
        else if (e.kind === 'file' || e.kind === 'dir') this.problem('corrupt', key, `entry ${JSON.stringify(e.name)} has no hash`, by);
      }
    }
    await Promise.all(next);
  }

  /** A blob: whole content, or a manifest and each of its chunks. size: what the tree entry says. */
  async blob(hash: string, by: string, size?: number): Promise<void> {
    if (!this.first('blob', hash)) return;
    this.report.blobs++;
    const key = this.store.key(objectRelKey('blobs', hash));
    let data: Buffer | undefined;
    const stored = await this.readSound(key, by, (s) => {
      data = undefined;
      if (isManifest(s)) return null; // checked below, with its chunks
      try {
        data = decodeStored(s);
      } catch (e) {
        return `undecodable blob: ${(e as Error).message}`;
      }
      return sha256Hex(data) === hash ? null : 'content does not match its hash';
    });
    if (stored === undefined) return;
    if (!stored) return this.problem('missing', key, 'blob not in the store', by);
    if (data) {
      if (size !== undefined && data.length !== size) this.problem('corrupt', key, `holds ${data.length} bytes, the tree says ${size}`, by);
      return;
    }
    let m;
    try {
      m = decodeManifest(stored);
    } catch (e) {
      return this.problem('corrupt', key, `bad chunk manifest: ${(e as Error).message}`, by);
    }
    if (m.hash !== hash) return this.problem('corrupt', key, 'chunk manifest of another blob', by);
    if (size !== undefined && m.size !== size) this.problem('corrupt', key, `manifest says ${m.size} bytes, the tree says ${size}`, by);
    await Promise.all(m.chunks.map((c, i) => this.chunk(c.hash, c.length, `${by} (chunk ${i} of ${m.chunks.length})`)));
  }

  private async chunk(hash: string, length: number, by: string): Promise<void> {
    if (!this.first('chunk', hash)) return;
    this.report.chunks++;
    const key = this.store.key(objectRelKey('blobs', hash));
    let data: Buffer | undefined;
    const stored = await this.readSound(key, by, (s) => {
      try {
        data = decodeStored(s);
      } catch (e) {
        return `undecodable chunk: ${(e as Error).message}`;
      }
      return sha256Hex(data) === hash ? null : 'chunk does not match its hash';
    });
    if (stored === undefined) return;
    if (!stored || !data) return this.problem('missing', key, 'chunk not in the store', by);
    if (data.length !== length) this.problem('corrupt', key, `chunk holds ${data.length} bytes, its manifest says ${length}`, by);
  }
}

/** Checks one project: every head record in heads/, the head ref, and the caller's roots. */
export async function fsckProject(store: ObjectStore, o: FsckOptions = {}): Promise<FsckReport> {
  const c = new Checker(store, o.concurrency);
  const refKey = store.key(HEAD_REF_REL_KEY);
  const heads: Promise<void>[] = [];
  try {
    const cur = await store.getHead();
    if (cur) heads.push(c.head(cur.hash, 'the head ref'));
  } catch (e) {
    if (e instanceof MissingObjectError) c.problem('missing', e.key, 'the head ref names a head record not in the store', 'the head ref');
    else if (e instanceof CorruptObjectError) c.problem(e.key === refKey ? 'invalid' : 'corrupt', e.key, e.message, 'the head ref');
    else throw e;
  }
  for await (const it of store.backend.list(store.prefix + 'heads/')) {
    const hash = it.key.slice(it.key.lastIndexOf('/') + 1);
    if (isHash(hash) && it.key === store.key(objectRelKey('heads', hash))) heads.push(c.head(hash, 'heads/'));
  }
  await Promise.all(heads);
  if (o.roots) await o.roots(c);
  c.report.problems.sort((a, b) => a.key.localeCompare(b.key) || a.kind.localeCompare(b.kind));
  return c.report;
}
