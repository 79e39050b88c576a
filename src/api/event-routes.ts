// Events and webhooks over HTTP (seed 004's hooks): GET /api/events streams server-sent events of the
// projects the caller may read; hooks are managed by admins of their project.
import { checkAccess, effectiveRight, type Principal } from '../identity/access.js';
import type { GrantStore } from '../identity/grant-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import { EVENT_TYPES, type EventBus, type MicEvent } from '../events/event-bus.js';
import { streamEvents } from '../events/sse.js';
import type { Webhooks } from '../events/webhooks.js';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import { isValidProject } from '../store/keys.js';
import type { TableRoute } from './route-table.js';

export interface EventDeps {
  bus: EventBus;
  hooks: Webhooks;
  grants: GrantStore;
  audit: AuditLog;
}

function typesOf(v: unknown, field: string): string[] {
  const list =
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new InvalidInputError(field, 'must be a list of event types');
  for (const t of list) {
    if (typeof t !== 'string' || !((EVENT_TYPES as readonly string[]).includes(t) || /^(session|artifact|head)\.\*$/.test(t))) {
      throw new InvalidInputError(
        field,
        `unknown event type ${JSON.stringify(t)}; known: ${EVENT_TYPES.join(', ')} (or session.*, artifact.*, head.*)`,
      );
    }
  }
  return list as string[];
}

/** May the caller see this event? Remembered per project and session until the stream's next credential
 *  check (`refresh`), which also takes the caller's current roles and scope. */
function visibility(p: Principal, grants: GrantStore) {
  const known = new Map<string, Promise<boolean>>();
  let who = p;
  return {
    visible(e: MicEvent): Promise<boolean> {
      const key = `${e.project}|${e.session_id}`;
      let v = known.get(key);
      if (!v) {
        v = effectiveRight(who, { project: e.project ?? undefined, session: e.session_id ?? undefined }, grants).then((r) => r !== null);
        known.set(key, v);
      }
      return v;
    },
    refresh(now: Principal): boolean {
      if (now.user !== who.user) return false;
      who = now;
      known.clear();
      return true;
    },
  };
}

export function eventRoutes(d: EventDeps): TableRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/events',
      handler: async ({ principal: p, query, req, res, reauthenticate, recheckMs }) => {
        const project = query.get('project') ?? undefined;
        if (project !== undefined) {
          if (!isValidProject(project)) throw new InvalidInputError('project', 'must be "org/name"');
          await checkAccess(p, 'read', { project }, d.grants);
        }
        const filter = {
          project,
          types: typesOf(query.get('types') ?? query.get('type') ?? undefined, 'types'),
          session: query.get('session') ?? undefined,
        };
        const lastId = (req.headers['last-event-id'] as string | undefined) ?? query.get('last_event_id') ?? undefined;
        const v = visibility(p, d.grants);
        // a revoked or expired token, or a withdrawn right on the project, ends the stream (stream-watch.ts)
        const allowed = async (asOf: (t: number) => void) => {
          const now = await reauthenticate(asOf);
          if (!v.refresh(now)) return false;
          if (project !== undefined) await checkAccess(now, 'read', { project }, d.grants);
          return true;
        };
        streamEvents(d.bus, req, res, filter, lastId, (e) => v.visible(e), { allowed, everyMs: recheckMs });
        return { streamed: true };
      },
    },
    {
      method: 'POST',
      path: '/api/hooks',
      handler: async ({ principal: p, body }) => {
        const b = await body();
        if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new InvalidInputError('body', 'must be a JSON object');
        const o = b as Record<string, unknown>;
        for (const k of Object.keys(o))
          if (!['project', 'url', 'types', 'secret'].includes(k)) throw new InvalidInputError(k, 'is not a known field');
        const project = o.project;
        if (typeof project !== 'string' || !isValidProject(project)) throw new InvalidInputError('project', 'must be "org/name"');
        await checkAccess(p, 'admin', { project }, d.grants);
        let url: URL;
        try {
          url = new URL(String(o.url));
        } catch {
          throw new InvalidInputError('url', 'must be an absolute http(s) URL');
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError('url', 'must be http or https');
        if (o.secret !== undefined && (typeof o.secret !== 'string' || o.secret.length < 16 || o.secret.length > 256))
          throw new InvalidInputError('secret', 'must be 16-256 characters');
        const types = typesOf(o.types, 'types');
        const hook = await d.hooks.create({ project, url: url.toString(), types, secret: o.secret as string | undefined, actor: p.user });
        await d.audit.append({
          actor: p.user,
          action: 'hook.create',
          target: `hook:${hook.id}`,
          result: 'ok',
          detail: { project, url: hook.url, types },
        });
        return { status: 201, json: { hook } };
      },
    },
    {
      method: 'GET',
      path: '/api/hooks',
      handler: async ({ principal: p, query }) => {
        const project = query.get('project') ?? undefined;
        const hooks = [];
        for (const h of await d.hooks.list(project)) {
          if ((await effectiveRight(p, { project: h.project }, d.grants)) === 'admin') hooks.push({ ...h, secret: undefined });
        }
        return { json: { hooks } };
      },
    },
    {
      method: 'GET',
      path: '/api/hooks/:id/deliveries',
      handler: async ({ principal: p, params }) => {
        const h = await d.hooks.get(params[0]!);
        if (!h) throw new NotFoundError('hook', `no hook ${params[0]}`);
        await checkAccess(p, 'admin', { project: h.project }, d.grants);
        return { json: { hook: h.id, deliveries: await d.hooks.deliveries(h.id) } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/hooks/:id',
      handler: async ({ principal: p, params }) => {
        const h = await d.hooks.get(params[0]!);
        if (!h) throw new NotFoundError('hook', `no hook ${params[0]}`);
        await checkAccess(p, 'admin', { project: h.project }, d.grants);
        await d.hooks.delete(h.id);
        await d.audit.append({
          actor: p.user,
          action: 'hook.delete',
          target: `hook:${h.id}`,
          result: 'ok',
          detail: { project: h.project },
        });
        return { json: { deleted: h.id } };
      },
    },
  ];
}
