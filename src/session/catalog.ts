// Where sessions and projects are found: session records live with their project
// (projects/<p>/sessions/<id>/metadata.json); index/sessions/<id> names the project.
import { ObjectStore, type ObjectBackend } from '../store/index.js';
import type { SessionRecord } from './record.js';
import { isValidSessionId } from './record.js';

export class Catalog {
  private stores = new Map<string, ObjectStore>();

  constructor(readonly backend: ObjectBackend, private readonly cacheBytes = 256 * 1024 * 1024) {}

  store(project: string): ObjectStore {
    let s = this.stores.get(project);
    if (!s) {
      s = new ObjectStore(this.backend, project, { cacheBytes: this.cacheBytes });
      this.stores.set(project, s);
    }
    return s;
  }

  async projectOf(id: string): Promise<string | null> {
    if (!isValidSessionId(id)) return null;
    const raw = await this.backend.get(`index/sessions/${id}`);
    if (!raw) return null;
    return (JSON.parse(raw.toString('utf8')) as { project: string }).project;
  }

  async get(id: string): Promise<SessionRecord | null> {
    const project = await this.projectOf(id);
    if (!project) return null;
    return this.store(project).getJson<SessionRecord>(`sessions/${id}/metadata.json`);
  }

  async put(r: SessionRecord): Promise<void> {
    await this.store(r.project).putJson(`sessions/${r.session_id}/metadata.json`, r);
    await this.backend.put(`index/sessions/${r.session_id}`, Buffer.from(JSON.stringify({ project: r.project })));
  }

  /** Rewrite an existing record (its index entry is already there). */
  async update(r: SessionRecord): Promise<void> {
    await this.store(r.project).putJson(`sessions/${r.session_id}/metadata.json`, r);
  }

  async ids(): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.backend.list('index/sessions/')) out.push(o.key.slice('index/sessions/'.length));
    return out;
  }

  async list(): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const id of await this.ids()) {
      const r = await this.get(id);
      if (r) out.push(r);
    }
    out.sort((a, b) => a.started_at.localeCompare(b.started_at));
    return out;
  }
}
