// HTTP routes for import-git and export-git. Both run as background jobs: POST answers 202 with the job,
// GET of the job shows its progress, then its result or error. One job per project at a time.
import { randomBytes } from 'node:crypto';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import { known, projectParam } from '../session/input.js';
import { importGit, ImportRefusedError } from '../git/import.js';
import { exportGit } from '../git/export.js';
import { GitError } from '../git/run.js';
import { checkAccess } from '../identity/access.js';
import type { GrantStore } from '../identity/grant-store.js';
import type { TableRoute } from './route-table.js';
import type { AuditLog } from '../audit/audit-log.js';

export interface GitJob {
  id: string;
  kind: 'import-git' | 'export-git';
  project: string;
  status: 'running' | 'done' | 'failed';
  progress: { done: number; total: number; phase?: string };
  result: unknown;
  error: { error: string; message: string } | null;
  started_at: string;
  finished_at: string | null;
}

const MAX_JOBS = 200;

/** Import reads, and export writes, paths of the daemon's host: both need the admin right. The job's
 *  state is readable with the project's read right. */
export function gitRoutes(s: SessionService, grants: GrantStore, audit: AuditLog, onClose?: Set<() => Promise<void>>): TableRoute[] {
  const jobs = new Map<string, GitJob>();
  /** the jobs' audit entries, keyed by job id: one per job (its outcome, or its interruption at a stop) */
  const audited = new Set<string>();
  const auditJob = (job: GitJob, who: { actor: string; repo: string }, result: string, extra: Record<string, unknown> = {}) => {
    if (audited.has(job.id)) return Promise.resolve();
    audited.add(job.id);
    return audit
      .append({
        actor: who.actor,
        action: job.kind === 'import-git' ? 'git.import' : 'git.export',
        target: `project:${job.project}`,
        result,
        detail: { repo: who.repo, job: job.id, ...extra },
      })
      .then(
        () => {},
        () => {},
      );
  };
  const running = new Map<string, { job: GitJob; who: { actor: string; repo: string } }>();
  // the daemon stops with a job under way: what it did so far stays (an import resumes where it stopped), and
  // the audit log says that it was cut off, and how far it got
  onClose?.add(async () => {
    for (const { job, who } of running.values()) {
      job.status = 'failed';
      job.error = { error: 'interrupted', message: 'the daemon stopped while the job was running' };
      job.finished_at = new Date().toISOString();
      await auditJob(job, who, 'error: interrupted', { progress: { ...job.progress } });
    }
  });
  const obj = (b: unknown): Record<string, unknown> => {
    if (b === undefined) return {};
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new InvalidInputError('body', 'must be a JSON object');
    return b as Record<string, unknown>;
  };
  const str = (b: Record<string, unknown>, k: string, required = false): string | undefined => {
    const v = b[k];
    if (v === undefined || v === null) {
      if (required) throw new InvalidInputError(k, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v === '' || v.length > 4096 || v.includes('\0'))
      throw new InvalidInputError(k, 'must be a non-empty string');
    return v;
  };
  const start = (
    kind: GitJob['kind'],
    project: string,
    run: (job: GitJob) => Promise<unknown>,
    who: { actor: string; repo: string },
  ): GitJob => {
    for (const j of jobs.values()) {
      if (j.project === project && j.status === 'running')
        throw new InvalidStateError(`${j.kind} job ${j.id} is running for ${project}`, { code: 'busy' });
    }
    const job: GitJob = {
      id: `job-${randomBytes(6).toString('hex')}`,
      kind,
      project,
      status: 'running',
      progress: { done: 0, total: 0 },
      result: null,
      error: null,
      started_at: new Date().toISOString(),
      finished_at: null,
    };
    jobs.set(job.id, job);
    running.set(job.id, { job, who });
    if (jobs.size > MAX_JOBS) for (const [id, j] of jobs) if (j.status !== 'running' && jobs.size > MAX_JOBS) jobs.delete(id);
    // the job's outcome goes to the audit log with who started it, and only then shows as finished: a
    // caller that sees "done" can read its entry (a daemon stopped meanwhile waits for the append)
    void run(job)
      .then(
        (r) => ({ status: 'done' as const, result: r, error: null }),
        (e: Error) => ({
          status: 'failed' as const,
          result: null,
          error: {
            error: e instanceof ImportRefusedError ? 'refused' : e instanceof GitError ? 'git' : 'internal',
            message: e.message,
          },
        }),
      )
      .then(async (end) => {
        running.delete(job.id);
        if (audited.has(job.id)) return; // interrupted by a stop, and audited so
        await auditJob(job, who, end.status === 'done' ? 'ok' : `error: ${end.error?.error ?? 'internal'}`);
        Object.assign(job, end, { finished_at: new Date().toISOString() });
      });
    return job;
  };
  return [
    {
      method: 'POST',
      path: '/api/projects/:org/:name/import-git',
      handler: async ({ principal, params, body }) => {
        await checkAccess(principal, 'admin', {});
        const project = projectParam(params[0]!, params[1]!);
        const b = obj(await body());
        known(b, ['repo', 'ref', 'first_parent', 'onto_head']);
        const repo = str(b, 'repo', true)!;
        const ref = str(b, 'ref');
        const job = start(
          'import-git',
          project,
          (j) =>
            importGit(s.catalog, project, repo, {
              ref,
              firstParent: b.first_parent === true,
              ontoHead: b.onto_head === true,
              onProgress: (p) => {
                j.progress = { ...p };
              },
            }),
          { actor: principal.user, repo },
        );
        return { status: 202, json: { job } };
      },
    },
    {
      method: 'POST',
      path: '/api/projects/:org/:name/export-git',
      handler: async ({ principal, params, body }) => {
        await checkAccess(principal, 'admin', {});
        const project = projectParam(params[0]!, params[1]!);
        const b = obj(await body());
        known(b, ['repo', 'branch']);
        const repo = str(b, 'repo', true)!;
        const branch = str(b, 'branch');
        const job = start(
          'export-git',
          project,
          (j) =>
            exportGit(s.catalog, project, repo, {
              branch,
              onProgress: (p) => {
                j.progress = { ...p };
              },
            }),
          { actor: principal.user, repo },
        );
        return { status: 202, json: { job } };
      },
    },
    {
      method: 'GET',
      path: '/api/projects/:org/:name/git-jobs/:id',
      handler: async ({ principal, params }) => {
        const project = projectParam(params[0]!, params[1]!);
        await checkAccess(principal, 'read', { project }, grants);
        const job = jobs.get(params[2]!);
        if (!job || job.project !== project) throw new NotFoundError('job', `no git job ${params[2]} for ${project}`);
        return { json: { job } };
      },
    },
  ];
}
