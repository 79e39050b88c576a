// Everything the API serves beside the session routes, and the gate the session routes pass through:
// the caller's rights (identity/), the audit log (audit/), events and hooks (events/), artifacts.
import type http from 'node:http';
import type { AuditLog } from '../audit/audit-log.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { EventBus } from '../events/event-bus.js';
import type { Webhooks } from '../events/webhooks.js';
import { guardedApi } from '../gate/guarded-api.js';
import { checkAccess, type Principal } from '../identity/access.js';
import type { GrantStore } from '../identity/grant-store.js';
import type { TokenStore } from '../identity/token-store.js';
import type { UserStore } from '../identity/user-store.js';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import { projectParam } from '../session/input.js';
import { gcRequest } from '../session/run-gc.js';
import type { SessionService } from '../session/service.js';
import { isHash } from '../store/index.js';
import { artifactRoutes } from './artifact-routes.js';
import { eventRoutes } from './event-routes.js';
import { ApiError } from './http-errors.js';
import { identityRoutes } from './identity-routes.js';
import { taskRoutes } from './task-routes.js';
import { gitRoutes } from './git.js';
import { statistics, taskSessionView, type TaskStore } from '../tasks/task-store.js';
import { replayRoutes } from './replay-routes.js';
import type { TableRoute } from './route-table.js';

export interface ApiAccess {
  users: UserStore;
  tokens: TokenStore;
  grants: GrantStore;
  audit: AuditLog;
  bus: EventBus;
  hooks: Webhooks;
  artifacts: ArtifactStore;
  /** where artifact uploads are spooled (inside the data directory) */
  spoolDir: string;
  /** the largest artifact accepted (bytes) */
  maxArtifactBytes: number;
  tasks: TaskStore;
  onAuditError?(e: unknown, action: string): void;
  /** what routes leave running past their answer and must account for when the API closes (git jobs: their
   *  audit entry), run by ApiServer.close once the changes under way are answered */
  onClose?: Set<() => Promise<void>>;
}

/** The service as one caller sees it: its session methods authorised, audited and published. */
export function gatedService(service: SessionService, p: Principal, a: ApiAccess): SessionService {
  const gated = guardedApi(service, p, {
    catalog: service.catalog,
    audit: a.audit,
    bus: a.bus,
    grants: a.grants,
    onAuditError: a.onAuditError,
  });
  return Object.assign(Object.create(service) as SessionService, gated);
}

/** A raw (non-JSON) body may be any type but those a page can send to another origin without a CORS
 *  preflight (Fetch standard, "CORS-safelisted request-header"): those would let any web page upload. */
export function refuseSimpleBody(req: http.IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain', ''].includes(type)) {
    throw new ApiError(415, {
      error: 'unsupported_media_type',
      message: `give the content a Content-Type such as application/octet-stream${type ? `, not ${type}` : ''}`,
    });
  }
}

export function accessRoutes(service: SessionService, a: ApiAccess): TableRoute[] {
  const catalog = service.catalog;
  return [
    ...identityRoutes({ ...a, catalog }),
    ...artifactRoutes({
      artifacts: a.artifacts,
      catalog,
      grants: a.grants,
      audit: a.audit,
      bus: a.bus,
      spoolDir: a.spoolDir,
      maxBytes: a.maxArtifactBytes,
    }),
    ...eventRoutes({ bus: a.bus, hooks: a.hooks, grants: a.grants, audit: a.audit }),
    ...gitRoutes(service, a.grants, a.audit, a.onClose),
    ...replayRoutes({ gated: (ctx) => gatedService(service, ctx.principal, a) }),
    ...taskRoutes({ tasks: a.tasks, catalog, grants: a.grants, audit: a.audit, gated: (ctx) => gatedService(service, ctx.principal, a) }),
    {
      // the session with seed 003's statistics of its tasks
      method: 'GET',
      path: '/api/sessions/:id',
      handler: async ({ principal: p, params }) => {
        const body = await gatedService(service, p, a).get(params[0]!);
        const s = body.session;
        const doc = await a.tasks.get(params[0]!);
        const stats = statistics(doc, s.started_at, s.ended_at ?? s.landed_at ?? null);
        return { json: { ...taskSessionView(doc, s), ...body, session: { ...s, statistics: stats } } };
      },
    },
    {
      method: 'POST',
      path: '/api/gc',
      handler: async ({ principal: p, body }) => {
        await checkAccess(p, 'admin', {});
        try {
          const run = await gcRequest(catalog.backend, await body(), () => catalog.dropCaches());
          await a.audit.append({
            actor: p.user,
            action: 'gc',
            target: 'store',
            result: 'ok',
            detail: { dry_run: run.dry_run, deleted: run.totals.deleted },
          });
          return { json: run };
        } catch (e) {
          await a.audit
            .append({ actor: p.user, action: 'gc', target: 'store', result: `error: ${(e as { code?: string }).code ?? 'error'}` })
            .catch(() => {});
          throw e;
        }
      },
    },
    {
      method: 'GET',
      path: '/api/projects/:org/:name/blobs/:hash',
      handler: async ({ principal: p, params, res }) => {
        const project = projectParam(params[0]!, params[1]!);
        await checkAccess(p, 'read', { project }, a.grants);
        if (!isHash(params[2]!)) throw new InvalidInputError('hash', 'must be a SHA-256 hex digest');
        const store = catalog.store(project);
        if (!(await store.hasBlob(params[2]!))) throw new NotFoundError('blob');
        const data = await store.getBlob(params[2]!);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
        res.end(data);
        return { streamed: true };
      },
    },
  ];
}
