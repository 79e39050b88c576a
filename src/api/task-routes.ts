// Seed 003 over HTTP: a session's tasks and plans with their statistics, and /end (land, or abandon with
// {"abandon": true}); seed 004's /complete (= land).
import type { AuditLog } from '../audit/audit-log.js';
import { checkAccess } from '../identity/access.js';
import type { GrantStore } from '../identity/grant-store.js';
import type { Catalog } from '../session/catalog.js';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import {
  statistics,
  TASK_STATUSES,
  TASK_TYPES,
  type StepStatus,
  type TaskStatus,
  type TaskStore,
  type TaskType,
} from '../tasks/task-store.js';
import type { TableRoute } from './route-table.js';

export interface TaskDeps {
  tasks: TaskStore;
  catalog: Catalog;
  grants: GrantStore;
  audit: AuditLog;
  /** the session service as the caller sees it (authorised, audited) */
  gated(ctx: { principal: import('../identity/access.js').Principal }): SessionService;
}

type Obj = Record<string, unknown>;
function obj(raw: unknown, allowed: string[]): Obj {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidInputError('body', 'must be a JSON object');
  for (const k of Object.keys(raw)) if (!allowed.includes(k)) throw new InvalidInputError(k, 'is not a known field');
  return raw as Obj;
}
function text(o: Obj, k: string, o2: { required?: boolean; max?: number } = {}): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) {
    if (o2.required) throw new InvalidInputError(k, 'is required');
    return undefined;
  }
  if (typeof v !== 'string' || v.length > (o2.max ?? 4096) || (o2.required && !v.trim()))
    throw new InvalidInputError(k, `must be a non-empty string of at most ${o2.max ?? 4096} characters`);
  return v;
}
function oneOf<T extends string>(o: Obj, k: string, list: readonly T[]): T | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(list as readonly string[]).includes(v))
    throw new InvalidInputError(k, `must be one of ${list.join(', ')}`);
  return v as T;
}

export function taskRoutes(d: TaskDeps): TableRoute[] {
  const target = async (id: string) => {
    const project = await d.catalog.projectOf(id);
    if (!project) throw new NotFoundError('session', `session ${JSON.stringify(id)} not found`);
    return { project, session: id };
  };
  const audit = (actor: string, action: string, session: string, detail: Obj) =>
    d.audit.append({ actor, action, target: `session:${session}`, result: 'ok', detail });
  return [
    {
      method: 'GET',
      path: '/api/sessions/:id/tasks',
      handler: async ({ principal: p, params }) => {
        await checkAccess(p, 'read', await target(params[0]!), d.grants);
        const r = await d.catalog.get(params[0]!);
        const doc = await d.tasks.get(params[0]!);
        return {
          json: {
            session_id: params[0],
            tasks: doc.tasks,
            plans: doc.plans,
            statistics: statistics(doc, r!.started_at, r!.ended_at ?? r!.landed_at ?? null),
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/api/sessions/:id/tasks',
      handler: async ({ principal: p, params, body }) => {
        await checkAccess(p, 'write', await target(params[0]!), d.grants);
        const b = obj(await body(), ['type', 'description', 'status', 'plan']);
        const task = await d.tasks.addTask(params[0]!, {
          type:
            oneOf<TaskType>(b, 'type', TASK_TYPES) ??
            (() => {
              throw new InvalidInputError('type', `is required: one of ${TASK_TYPES.join(', ')}`);
            })(),
          description: text(b, 'description', { required: true })!,
          status: oneOf<TaskStatus>(b, 'status', TASK_STATUSES),
          plan: text(b, 'plan', { max: 64 }),
        });
        await audit(p.user, 'task.add', params[0]!, { task: task.id, type: task.type });
        return { status: 201, json: { task } };
      },
    },
    {
      method: 'PATCH',
      path: '/api/sessions/:id/tasks/:task',
      handler: async ({ principal: p, params, body }) => {
        await checkAccess(p, 'write', await target(params[0]!), d.grants);
        const b = obj(await body(), ['status', 'result', 'error', 'description']);
        const task = await d.tasks.updateTask(params[0]!, params[1]!, {
          status: oneOf<TaskStatus>(b, 'status', TASK_STATUSES),
          result: b.result,
          error: text(b, 'error', { max: 65536 }),
          description: text(b, 'description'),
        });
        await audit(p.user, 'task.update', params[0]!, { task: task.id, status: task.status });
        return { json: { task } };
      },
    },
    {
      method: 'POST',
      path: '/api/sessions/:id/plans',
      handler: async ({ principal: p, params, body }) => {
        await checkAccess(p, 'write', await target(params[0]!), d.grants);
        const b = obj(await body(), ['title', 'steps']);
        const steps = b.steps;
        if (
          !Array.isArray(steps) ||
          steps.length > 1000 ||
          steps.some((s) => typeof (typeof s === 'string' ? s : (s as Obj)?.description) !== 'string')
        ) {
          throw new InvalidInputError('steps', 'must be a list of up to 1000 steps (strings, or {description})');
        }
        const plan = await d.tasks.addPlan(params[0]!, {
          title: text(b, 'title', { required: true })!,
          steps: steps.map((s) => (typeof s === 'string' ? s : String((s as Obj).description))),
        });
        await audit(p.user, 'plan.add', params[0]!, { plan: plan.id, steps: plan.steps.length });
        return { status: 201, json: { plan } };
      },
    },
    {
      method: 'PATCH',
      path: '/api/sessions/:id/plans/:plan',
      handler: async ({ principal: p, params, body }) => {
        await checkAccess(p, 'write', await target(params[0]!), d.grants);
        const b = obj(await body(), ['steps']);
        const STEP: readonly StepStatus[] = ['pending', 'running', 'completed', 'failed', 'skipped'];
        if (!Array.isArray(b.steps)) throw new InvalidInputError('steps', 'must be a list of {index, status}');
        const steps = b.steps.map((s, i) => {
          const o = s as Obj;
          if (!Number.isInteger(o?.index) || !STEP.includes(o?.status as StepStatus))
            throw new InvalidInputError(`steps[${i}]`, `must be {index, status}, status one of ${STEP.join(', ')}`);
          return { index: o.index as number, status: o.status as StepStatus };
        });
        const plan = await d.tasks.updatePlan(params[0]!, params[1]!, steps);
        await audit(p.user, 'plan.update', params[0]!, { plan: plan.id });
        return { json: { plan } };
      },
    },
    {
      method: 'POST',
      path: '/api/sessions/:id/end',
      handler: async (ctx) => {
        const b = obj(await ctx.body(), ['abandon', 'message', 'commit_message']);
        const svc = d.gated(ctx);
        if (b.abandon === true) return { json: await svc.abandon(ctx.params[0]!) };
        if (b.abandon !== undefined && b.abandon !== false) throw new InvalidInputError('abandon', 'must be true or false');
        const message = text(b, 'commit_message', { max: 65536 }) ?? text(b, 'message', { max: 65536 });
        return { json: await svc.land(ctx.params[0]!, message !== undefined ? { message } : {}) };
      },
    },
    {
      method: 'POST',
      path: '/api/sessions/:id/complete',
      handler: async (ctx) => {
        const b = obj(await ctx.body(), ['message', 'commit_message']);
        const message = text(b, 'commit_message', { max: 65536 }) ?? text(b, 'message', { max: 65536 });
        return { json: await d.gated(ctx).land(ctx.params[0]!, message !== undefined ? { message } : {}) };
      },
    },
  ];
}
