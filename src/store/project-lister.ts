// Which projects a store holds, cheaply enough for a periodic caller (MOUNT EXPORT, the export-git poll).
// A local store answers from two directory levels (projects/<org>/<name>). Any other backend can only
// list every key under projects/ (collect-garbage.ts listProjects: every blob and tree), so that full
// listing runs at most once per `fullListMs`; projects learnt in between (note()) are added to it.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { listProjects } from './collect-garbage.js';
import { isValidProject } from './keys.js';
import { LocalBackend } from './local-backend.js';
import type { ObjectBackend } from './object-backend.js';

export class ProjectLister {
  private readonly known = new Set<string>();
  private listedAt = -Infinity;

  constructor(
    private readonly backend: ObjectBackend,
    private readonly fullListMs = 10 * 60_000,
  ) {}

  /** A project seen by other means (a landing event): listed from now on. */
  note(project: string): void {
    this.known.add(project);
  }

  /** "org/name" of every project, sorted. */
  async projects(): Promise<string[]> {
    const b = this.backend;
    if (b instanceof LocalBackend) {
      const names = async (d: string) => readdir(d).catch(() => [] as string[]);
      const orgs = await names(path.join(b.root, 'projects'));
      const all = await Promise.all(orgs.map(async (o) => (await names(path.join(b.root, 'projects', o))).map((n) => `${o}/${n}`)));
      return all.flat().filter(isValidProject).sort();
    }
    if (performance.now() - this.listedAt >= this.fullListMs) {
      for (const p of await listProjects(b)) this.known.add(p);
      this.listedAt = performance.now();
    }
    return [...this.known].sort();
  }
}
