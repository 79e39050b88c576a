// Artifacts (seed 004): outputs of a session that are not project files (logs, test reports,
// screenshots, data, models). Content lives in the project's content-addressed store (chunked when
// large, streamed in and out); each version's record is a JSON document beside the session:
//   projects/<p>/sessions/<session>/artifacts/<artifact id>/<version, 6 digits>.json
// Being a session document, a record protects its content from gc; deleting the records lets gc
// collect the content unless something else names it. Storing under an existing name adds a version.
import { createHash } from 'node:crypto';
import type { Catalog } from '../session/catalog.js';
import type { ObjectStore } from '../store/index.js';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { NotFoundError } from '../session/errors.js';

export const ARTIFACT_TYPES = ['text', 'code', 'data', 'model', 'image', 'log', 'report', 'binary', 'other'] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

export interface ArtifactMetadata {
  name: string;
  description?: string;
  tags?: string[];
  custom?: unknown;
}

export interface ArtifactRecord {
  id: string;
  session_id: string;
  project: string;
  type: ArtifactType;
  metadata: ArtifactMetadata;
  content_hash: string;
  size: number;
  content_type: string;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export interface ArtifactQuery {
  type?: string;
  tag?: string;
  session?: string;
  /** case-insensitive text in the name, description or tags */
  text?: string;
  limit?: number;
}

/** A stable id per (session, name): art-<16 hex>. */
export function artifactId(name: string): string {
  return `art-${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 16)}`;
}

const ID = /^art-[0-9a-f]{16}$/;
export function isArtifactId(s: string): boolean {
  return ID.test(s);
}

const dirOf = (session: string, id: string) => `sessions/${session}/artifacts/${id}/`;
const versionKey = (session: string, id: string, v: number) => `${dirOf(session, id)}${String(v).padStart(6, '0')}.json`;

export class ArtifactStore {
  constructor(private readonly catalog: Catalog) {}

  private async storeOf(session: string): Promise<{ store: ObjectStore; project: string }> {
    const project = await this.catalog.projectOf(session);
    if (!project) throw new NotFoundError('session', `session ${JSON.stringify(session)} not found`);
    return { store: this.catalog.store(project), project };
  }

  /** Stores content (a file, streamed into the store) as the next version of the artifact `name`. */
  async put(
    session: string,
    o: { type: ArtifactType; metadata: ArtifactMetadata; file: string; contentType?: string; actor: string },
  ): Promise<ArtifactRecord> {
    const { store, project } = await this.storeOf(session);
    const { hash, size } = await putFile(store, o.file);
    const id = artifactId(o.metadata.name);
    for (let attempt = 0; attempt < 20; attempt++) {
      const versions = await this.versionNumbers(store, session, id);
      const version = (versions[versions.length - 1] ?? 0) + 1;
      const first = versions.length ? await store.getJson<ArtifactRecord>(versionKey(session, id, versions[0]!)) : null;
      const now = new Date().toISOString();
      const rec: ArtifactRecord = {
        id,
        session_id: session,
        project,
        type: o.type,
        metadata: o.metadata,
        content_hash: hash,
        size,
        content_type: o.contentType ?? 'application/octet-stream',
        version,
        created_at: first?.created_at ?? now,
        updated_at: now,
        created_by: o.actor,
      };
      // a version number is taken once: a racing writer that took it first makes this one go again
      const key = store.key(versionKey(session, id, version));
      if (await store.backend.casRef(key, Buffer.from(JSON.stringify(rec) + '\n', 'utf8'), null)) return rec;
    }
    throw new Error(`artifact ${o.metadata.name}: too many writers at once`);
  }

  private async versionNumbers(store: ObjectStore, session: string, id: string): Promise<number[]> {
    const out: number[] = [];
    for await (const o of store.backend.list(store.prefix + dirOf(session, id))) {
      const m = /\/(\d{6})\.json$/.exec(o.key);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /** The latest version, or the one asked for. */
  async get(session: string, id: string, version?: number): Promise<ArtifactRecord> {
    if (!isArtifactId(id)) throw new NotFoundError('artifact', `artifact ${JSON.stringify(id)} not found`);
    const { store } = await this.storeOf(session);
    const versions = await this.versionNumbers(store, session, id);
    const v = version ?? versions[versions.length - 1];
    const rec = v !== undefined && versions.includes(v) ? await store.getJson<ArtifactRecord>(versionKey(session, id, v)) : null;
    if (!rec)
      throw new NotFoundError(
        'artifact',
        `artifact ${id}${version !== undefined ? ` version ${version}` : ''} not found in session ${session}`,
      );
    return rec;
  }

  async versions(session: string, id: string): Promise<ArtifactRecord[]> {
    const { store } = await this.storeOf(session);
    const out: ArtifactRecord[] = [];
    for (const v of await this.versionNumbers(store, session, id)) {
      const r = await store.getJson<ArtifactRecord>(versionKey(session, id, v));
      if (r) out.push(r);
    }
    return out;
  }

  /** The latest version of every artifact of a session. */
  async list(session: string): Promise<ArtifactRecord[]> {
    const { store } = await this.storeOf(session);
    return this.latestUnder(store, `sessions/${session}/artifacts/`);
  }

  private async latestUnder(store: ObjectStore, rel: string): Promise<ArtifactRecord[]> {
    const latest = new Map<string, string>();
    for await (const o of store.backend.list(store.prefix + rel)) {
      const m = /sessions\/[^/]+\/artifacts\/(art-[0-9a-f]{16})\/\d{6}\.json$/.exec(o.key);
      if (!m) continue;
      const dir = o.key.slice(0, o.key.lastIndexOf('/'));
      const cur = latest.get(dir);
      if (!cur || cur < o.key) latest.set(dir, o.key);
    }
    const out: ArtifactRecord[] = [];
    for (const key of latest.values()) {
      const raw = await store.backend.get(key);
      if (raw) out.push(JSON.parse(raw.toString('utf8')) as ArtifactRecord);
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Removes every version's record; false when there was none. The content goes at the next gc
   *  unless something else names it. */
  async delete(session: string, id: string): Promise<ArtifactRecord | null> {
    if (!isArtifactId(id)) return null;
    const { store } = await this.storeOf(session);
    const versions = await this.versionNumbers(store, session, id);
    if (!versions.length) return null;
    const last = await store.getJson<ArtifactRecord>(versionKey(session, id, versions[versions.length - 1]!));
    for (const v of versions) await store.backend.delete(store.key(versionKey(session, id, v)));
    return last;
  }

  /** Latest versions across a project (or one session) matching type, tag and text. */
  async query(project: string, q: ArtifactQuery): Promise<ArtifactRecord[]> {
    const store = this.catalog.store(project);
    const all = await this.latestUnder(store, q.session ? `sessions/${q.session}/artifacts/` : 'sessions/');
    const text = q.text?.toLowerCase();
    const hits = all.filter(
      (a) =>
        (!q.type || a.type === q.type) &&
        (!q.tag || (a.metadata.tags ?? []).includes(q.tag)) &&
        (!text || [a.metadata.name, a.metadata.description ?? '', ...(a.metadata.tags ?? [])].some((s) => s.toLowerCase().includes(text))),
    );
    return hits.slice(0, Math.max(1, Math.min(q.limit ?? 100, 1000)));
  }

  /** The content of a version, bytes [start, end) in pieces of at most 1 MiB, read as they are sent. */
  async *content(rec: ArtifactRecord, start = 0, end = rec.size): AsyncGenerator<Buffer> {
    const store = this.catalog.store(rec.project);
    for (let off = start; off < end;) {
      const n = Math.min(1024 * 1024, end - off);
      const piece = await store.readBlob(rec.content_hash, off, n);
      if (piece.length === 0) throw new Error(`artifact ${rec.id}: content ended at ${off} of ${rec.size}`);
      yield piece;
      off += piece.length;
    }
  }
}

/** Stores a file as a blob, streamed through the chunker (ObjectStore.putBlobFrom): never whole in memory. */
async function putFile(store: ObjectStore, file: string): Promise<{ hash: string; size: number }> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    // one chunk on its way to the store at a time: an upload of any size costs the daemon a few MiB
    return { hash: await store.putBlobFrom(size, (buf, len, off) => readSync(fd, buf, 0, len, off), 1), size };
  } finally {
    closeSync(fd);
  }
}
