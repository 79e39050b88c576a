// `mic serve --export-git DIR`: every project's heads flow into a git repository of their own,
// DIR/<org>/<name>.git (bare, created on first use), branch mic/<name>, after each landing.
//
// A landing is noticed two ways: the catalog's events (a landing in this daemon, at once) and a poll of
// every project's head ref (landings by other processes on the same data directory, imports). Exports run
// one at a time; a landing during an export marks the project dirty and it is exported again afterwards,
// so concurrent landings all reach the repository, each export incremental (exportGit remembers what it
// wrote). A failed export is logged and retried at the next landing, or by the poll a minute later.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Catalog } from '../session/catalog.js';
import { ProjectLister } from '../store/index.js';
import { exportGit, type ExportResult } from './export.js';

const RETRY_MS = 60_000;

export interface ExportWatcherOptions {
  catalog: Catalog;
  /** parent directory of the repositories */
  dir: string;
  log: Logger;
  /** how often every project's head is compared with the last one exported (ms; default 2000) */
  pollMs?: number;
}

/** The repository a project is exported to under dir. */
export function exportRepoOf(dir: string, project: string): string {
  const [org, name] = project.split('/') as [string, string];
  return path.join(dir, org, `${name}.git`);
}

export class GitExportWatcher {
  private readonly exported = new Map<string, string>(); // project -> head hash last exported
  private readonly dirty = new Set<string>();
  /** project -> when its last export failed: the poll leaves it alone for RETRY_MS */
  private readonly failedAt = new Map<string, number>();
  /** over S3 a full listing every 10 min; projects found meanwhile through events */
  private readonly lister: ProjectLister;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  private readonly pollMs: number;

  constructor(private readonly o: ExportWatcherOptions) {
    this.pollMs = o.pollMs ?? 2000;
    this.lister = new ProjectLister(o.catalog.backend);
  }

  start(): void {
    this.unsubscribe = this.o.catalog.events.on((e) => {
      if (e.type === 'session' && e.status === 'landed') {
        this.lister.note(e.project);
        this.schedule(e.project);
      }
    });
    const tick = () => {
      this.timer = null;
      this.poll()
        .catch((e: unknown) => this.o.log.warn({ err: (e as Error).message }, 'export-git: polling the heads failed'))
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(tick, this.pollMs);
        });
    };
    tick();
  }

  /** Stops watching; waits for an export in progress. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dirty.clear();
    await this.running;
  }

  /** Every project whose head differs from the one last exported. */
  private async poll(): Promise<void> {
    for (const project of await this.lister.projects()) {
      if (this.closed) return;
      const head = await this.o.catalog.store(project).getHead();
      if (!head || this.exported.get(project) === head.hash) continue;
      if (Date.now() - (this.failedAt.get(project) ?? 0) >= RETRY_MS) this.schedule(project);
    }
  }

  private schedule(project: string): void {
    if (this.closed) return;
    this.dirty.add(project);
    this.running ??= this.drain().finally(() => {
      this.running = null;
      if (this.dirty.size && !this.closed) this.schedule(this.dirty.values().next().value as string);
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.dirty.size) {
      const project = this.dirty.values().next().value as string;
      this.dirty.delete(project);
      const repo = exportRepoOf(this.o.dir, project);
      try {
        const head = await this.o.catalog.store(project).getHead();
        if (!head || this.exported.get(project) === head.hash) continue;
        const r: ExportResult = await exportGit(this.o.catalog, project, repo);
        // exportGit exports the head it read first: a later landing is exported on the next round
        this.exported.set(project, head.hash);
        this.failedAt.delete(project);
        if (r.exported) this.o.log.info({ project, repo, exported: r.exported, commit: r.commit }, 'export-git: heads exported');
        for (const w of r.warnings) this.o.log.warn({ project, repo }, `export-git: ${w}`);
      } catch (e) {
        this.failedAt.set(project, Date.now());
        this.o.log.warn({ project, repo, err: (e as Error).message }, 'export-git failed; retried at the next landing or in a minute');
      }
    }
  }
}
