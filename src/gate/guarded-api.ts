// The gate in front of the session service: every call is authorised for its caller (checkAccess),
// every mutation is written to the audit log with its actor and result, and what happened is published
// on the event bus. The HTTP API wraps the service in one per request; the CLI, when it works on a data
// directory in-process, wraps it with the local user as actor. One table says what each call needs.
import type { SessionApi } from '../session/session-api.js';
import type { SessionView } from '../session/record.js';
import { cursorOf } from '../session/session-index.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { EventBus, EventType } from '../events/event-bus.js';
import { checkAccess, type Principal, type Target } from '../identity/access.js';
import type { GrantStore } from '../identity/grant-store.js';
import type { Right } from '../identity/rights.js';
import type { Catalog } from '../session/catalog.js';
import { body as objectBody, projectOf } from '../session/input.js';
import { withWorkingDirectory } from '../session/working-directories.js';
import { withActor } from '../session/actor.js';
import { StoreUnavailableError } from '../session/errors.js';

export interface GateDeps {
  catalog: Catalog;
  audit: AuditLog;
  bus: EventBus;
  grants: GrantStore;
  /** an audit entry of a change that was made could not be written */
  onAuditError?(e: unknown, action: string): void;
}

type Method = keyof SessionApi & string;

interface Rule {
  right: Right;
  /** the audit action; absent: a read, not audited */
  action?: string;
  /** events published after success */
  events?: EventType[];
}

const RULES: Record<Method, Rule> = {
  start: { right: 'write', action: 'session.start', events: ['session.created'] },
  create: { right: 'land', action: 'session.create_and_land', events: ['session.created', 'session.landed', 'head.moved'] },
  list: { right: 'read' },
  get: { right: 'read' },
  patch: { right: 'write', action: 'session.update', events: ['session.updated'] },
  conversation: { right: 'write', action: 'session.conversation', events: ['session.updated'] },
  decisions: { right: 'write', action: 'session.decision', events: ['session.updated'] },
  suspend: { right: 'write', action: 'session.suspend', events: ['session.state_changed'] },
  resume: { right: 'write', action: 'session.resume', events: ['session.state_changed'] },
  abandon: { right: 'write', action: 'session.abandon', events: ['session.state_changed'] },
  fail: { right: 'write', action: 'session.fail', events: ['session.state_changed'] },
  remove: { right: 'write', action: 'session.delete', events: ['session.state_changed'] },
  interactions: { right: 'write', action: 'session.interaction', events: ['session.updated'] },
  getCurrent: { right: 'read' },
  setCurrent: { right: 'read' },
  sessionConfig: { right: 'read' },
  setSessionConfig: { right: 'admin', action: 'project.session_config' },
  land: { right: 'land', action: 'session.land', events: ['session.landed', 'session.state_changed', 'head.moved'] },
  files: { right: 'write', action: 'session.files', events: ['session.changed'] },
  changes: { right: 'read' },
  diff: { right: 'read' },
  rebase: { right: 'write', action: 'session.rebase', events: ['session.updated'] },
  handoff: { right: 'write', action: 'session.handoff', events: ['session.state_changed'] },
  serve: { right: 'write', action: 'session.serve', events: ['session.state_changed'] },
  head: { right: 'read' },
  log: { right: 'read' },
  showHead: { right: 'read' },
  blame: { right: 'read' },
};

const SESSION_METHODS = new Set<Method>([
  'get',
  'patch',
  'conversation',
  'decisions',
  'suspend',
  'resume',
  'abandon',
  'fail',
  'remove',
  'interactions',
  'land',
  'files',
  'changes',
  'diff',
  'rebase',
  'handoff',
  'serve',
]);
const PROJECT_METHODS = new Set<Method>(['head', 'log', 'showHead', 'blame', 'sessionConfig', 'setSessionConfig']);

function errorCode(e: unknown): string {
  const o = e as { body?: { error?: string }; code?: string; name?: string };
  return o?.body?.error ?? o?.code ?? o?.name ?? 'error';
}

/** Pulls what the events and the audit entry say about a result. */
function facts(out: unknown): { project?: string; session?: string; head?: string; status?: string } {
  const o = out as {
    session?: { session_id?: string; project?: string; status?: string; landed_head?: string };
    head?: { hash?: string };
    project?: string;
  };
  return {
    project: o?.session?.project ?? o?.project,
    session: o?.session?.session_id,
    head: o?.head?.hash ?? o?.session?.landed_head ?? undefined,
    status: o?.session?.status,
  };
}

/** A SessionApi that authorises, audits and publishes around `inner` for one principal. */
export function guardedApi(inner: SessionApi, p: Principal, deps: GateDeps): SessionApi {
  const target = async (m: Method, args: unknown[]): Promise<Target> => {
    if (SESSION_METHODS.has(m)) {
      const id = String(args[0]);
      const project = await deps.catalog.projectOf(id);
      // an unknown session: let the service answer 404 for readers of nothing in particular
      return project ? { project, session: id } : { session: id };
    }
    if (PROJECT_METHODS.has(m)) return { project: String(args[0]) };
    if (m === 'start' || m === 'create') return { project: projectOf(objectBody(args[0])) };
    if (m === 'setCurrent') {
      const id = (args[0] as { session_id?: unknown } | undefined)?.session_id;
      const project = typeof id === 'string' ? await deps.catalog.projectOf(id) : null;
      return project ? { project, session: id as string } : {};
    }
    if (m === 'list') {
      const project = (args[0] as { project?: string } | undefined)?.project;
      return project ? { project } : {};
    }
    return {};
  };

  const call = async (m: Method, args: unknown[]): Promise<unknown> => {
    const rule = RULES[m];
    // a new session records who started it (seed 002 user_id), whatever the body says; a body naming only a
    // working directory belongs to the project claiming it (checked against the caller's rights like any)
    if ((m === 'start' || m === 'create') && args[0] !== null && typeof args[0] === 'object' && !Array.isArray(args[0])) {
      args = [{ ...((await withWorkingDirectory(deps.catalog, args[0])) as object), user: p.user }, ...args.slice(1)];
    }
    // the caller's own: its current session, who recorded an interaction
    if (m === 'getCurrent') args = [p.user];
    if (m === 'setCurrent') args = [args[0], p.user];
    if (m === 'interactions') args = [args[0], args[1], p.user];
    const t = await target(m, args);
    if (m === 'list' && !t.project) return listVisible(inner, p, deps, args[0]);
    // an unknown session has no project: the service answers 404 for it
    const own = m === 'getCurrent' || (m === 'setCurrent' && !t.project); // the caller's own (a session it cannot see: 404)
    const check = () => (!own && (t.project || !SESSION_METHODS.has(m)) ? checkAccess(p, rule.right, t, deps.grants) : undefined);
    const fn = inner[m] as (...a: unknown[]) => Promise<unknown>;
    if (!rule.action) {
      await check();
      return fn.apply(inner, args);
    }
    let auditFailure: unknown;
    const auditTarget = t.session ? `session:${t.session}` : t.project ? `project:${t.project}` : m;
    try {
      await check(); // a refused mutation is audited too
      const out = await withActor(p.user, () => fn.apply(inner, args)); // timeline events name their actor
      const f = facts(out);
      const project = f.project ?? t.project ?? null;
      const session = f.session ?? t.session ?? null;
      // the change is made: a log entry that cannot be written (the store away) is not the change undone, but
      // the caller is not told "done" for a change that is not audited either: it gets 503 audit_failed
      auditFailure = await deps.audit
        .append({
          actor: p.user,
          action: rule.action,
          target: session ? `session:${session}` : auditTarget,
          result: 'ok',
          detail: {
            ...(project ? { project } : {}),
            ...(f.head ? { head: f.head } : {}),
            ...(f.status ? { status: f.status } : {}),
            ...(p.tokenId ? { token: p.tokenId } : {}),
          },
        })
        .then(
          () => null,
          (e: unknown) => {
            deps.onAuditError?.(e, rule.action!);
            return e;
          },
        );
      for (const type of rule.events ?? []) {
        deps.bus.publish(type, {
          project,
          session,
          actor: p.user,
          data: { action: rule.action, ...(f.head ? { head: f.head } : {}), ...(f.status ? { status: f.status } : {}) },
        });
      }
      if (auditFailure === null) return out;
    } catch (e) {
      await deps.audit
        .append({
          actor: p.user,
          action: rule.action,
          target: auditTarget,
          result: `error: ${errorCode(e)}`,
          detail: { message: (e as Error)?.message?.slice(0, 300) },
        })
        .catch(() => {});
      throw e;
    }
    throw new StoreUnavailableError(
      `${rule.action} was done, but its audit entry could not be written (${(auditFailure as Error)?.message ?? String(auditFailure)}): it is not acknowledged`,
      'audit_failed',
    );
  };

  const api = {} as Record<Method, (...a: unknown[]) => Promise<unknown>>;
  for (const m of Object.keys(RULES) as Method[]) api[m] = (...args: unknown[]) => call(m, args);
  return api as unknown as SessionApi;
}

/** list without a project filter: only the sessions of projects the caller may read. Pages of the inner
 *  list are read until `limit` visible ones are found (at most 5 pages of 200); the cursor continues after
 *  the last one shown, or after the last one looked at. */
async function listVisible(inner: SessionApi, p: Principal, deps: GateDeps, q: unknown): Promise<unknown> {
  const all = p.roles.some((r) => r.scope === '*') && (p.tokenScope === undefined || p.tokenScope === '*');
  if (all) return inner.list(q as never);
  const query = (q ?? {}) as { limit?: number | string; cursor?: string };
  const limit = Math.min(1000, Math.max(1, Number(query.limit ?? 50) || 50));
  const mayRead = new Map<string, Promise<boolean>>();
  const readable = (s: { project: string; session_id: string }) => {
    let ok = mayRead.get(s.project);
    if (!ok) {
      ok = checkAccess(p, 'read', { project: s.project, session: s.session_id }, deps.grants).then(
        () => true,
        () => false,
      );
      mayRead.set(s.project, ok);
    }
    return ok;
  };
  const visible: SessionView[] = [];
  let cursor = query.cursor;
  for (let pages = 0; pages < 5; pages++) {
    const b = await inner.list({ ...(q as object), limit: 200, cursor } as never);
    for (const s of b.sessions) {
      if (visible.length === limit) return { sessions: visible, limit, next_cursor: cursorOf(visible[visible.length - 1]!), total: null };
      if (await readable(s)) visible.push(s);
    }
    if (!b.next_cursor) return { sessions: visible, limit, next_cursor: null, total: null };
    cursor = b.next_cursor;
  }
  return { sessions: visible, limit, next_cursor: cursor, total: null };
}
