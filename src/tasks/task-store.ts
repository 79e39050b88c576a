// Tasks and plans of a session (seed 003): what an agent set out to do inside the session, each task
// moving pending -> running -> completed | failed with its timestamps, and plans as ordered steps.
// One document per session beside its record (projects/<p>/sessions/<id>/tasks.json), updated by
// compare-and-swap so concurrent writers (two daemons, the CLI) never lose one another's changes.
import { randomBytes } from 'node:crypto';
import type { Catalog } from '../session/catalog.js';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../session/errors.js';
import { updateDoc, readDoc } from '../identity/json-doc.js';

export const TASK_TYPES = ['code', 'git', 'file', 'command'] as const;
export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface Task {
  id: string;
  session_id: string;
  type: TaskType;
  description: string;
  status: TaskStatus;
  created_at: string;
  updated_at: string;
  started_at?: string;
  finished_at?: string;
  /** running time in ms, once finished (from started_at, or created_at if it never ran) */
  execution_ms?: number;
  result?: unknown;
  error?: string;
  plan?: string;
}

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';
export interface Plan {
  id: string;
  session_id: string;
  title: string;
  steps: { description: string; status: StepStatus }[];
  created_at: string;
  updated_at: string;
}

export interface TaskDoc {
  tasks: Task[];
  plans: Plan[];
}

/** seed 003's statistics (times in ms; successRate in percent of finished tasks). */
export interface SessionStatistics {
  totalTasks: number;
  completedTasks: number;
  failedTasks: number;
  totalExecutionTime: number;
  duration: number;
  successRate: number;
  avgExecutionTime: number;
}

const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['running', 'completed', 'failed'],
  running: ['completed', 'failed'],
  completed: [],
  failed: [],
};

const MAX_TASKS = 10_000;
const MAX_RESULT_BYTES = 64 * 1024;

export function statistics(doc: TaskDoc, startedAt: string, endedAt: string | null, now = Date.now()): SessionStatistics {
  const done = doc.tasks.filter((t) => t.status === 'completed' || t.status === 'failed');
  const total = done.reduce((n, t) => n + (t.execution_ms ?? 0), 0);
  const completed = doc.tasks.filter((t) => t.status === 'completed').length;
  return {
    totalTasks: doc.tasks.length,
    completedTasks: completed,
    failedTasks: done.length - completed,
    totalExecutionTime: total,
    duration: Math.max(0, (endedAt ? Date.parse(endedAt) : now) - Date.parse(startedAt)),
    successRate: done.length ? Math.round((completed / done.length) * 10000) / 100 : 0,
    avgExecutionTime: done.length ? Math.round(total / done.length) : 0,
  };
}

/** The agent-task view of a session (the camelCase shape of the design's session manager), given beside
 *  ours by GET /api/sessions/:id and POST /api/sessions/start: `sessionId`, `metadata` (ids of tasks and
 *  plans, counts, status active/completed/failed) and `stats`. */
export interface TaskSessionView {
  sessionId: string;
  metadata: {
    sessionId: string;
    startTime: string;
    endTime?: string;
    workingDirectory?: string;
    projectPath: string;
    tasks: string[];
    plans: string[];
    totalTasks: number;
    completedTasks: number;
    failedTasks: number;
    totalExecutionTime: number;
    status: 'active' | 'completed' | 'failed';
  };
  stats: { duration: number; successRate: number; avgExecutionTime: number };
}

export function taskSessionView(
  doc: TaskDoc,
  s: {
    session_id: string;
    project: string;
    status: string;
    started_at: string;
    ended_at?: string | null;
    landed_at?: string | null;
    metadata?: unknown;
  },
  now = Date.now(),
): TaskSessionView {
  const end = s.ended_at ?? s.landed_at ?? null;
  const st = statistics(doc, s.started_at, end, now);
  const meta = (s.metadata ?? {}) as Record<string, unknown>;
  const dir = typeof meta.working_directory === 'string' ? meta.working_directory : undefined;
  const status = s.status === 'landed' ? 'completed' : s.status === 'failed' || s.status === 'abandoned' ? 'failed' : 'active';
  return {
    sessionId: s.session_id,
    metadata: {
      sessionId: s.session_id,
      startTime: s.started_at,
      ...(end ? { endTime: end } : {}),
      ...(dir !== undefined ? { workingDirectory: dir } : {}),
      projectPath: dir ?? s.project,
      tasks: doc.tasks.map((t) => t.id),
      plans: doc.plans.map((p) => p.id),
      totalTasks: st.totalTasks,
      completedTasks: st.completedTasks,
      failedTasks: st.failedTasks,
      totalExecutionTime: st.totalExecutionTime,
      status,
    },
    stats: { duration: st.duration, successRate: st.successRate, avgExecutionTime: st.avgExecutionTime },
  };
}

function checkResult(v: unknown): unknown {
  if (v === undefined) return undefined;
  if (Buffer.byteLength(JSON.stringify(v) ?? '') > MAX_RESULT_BYTES)
    throw new InvalidInputError('result', `is larger than ${MAX_RESULT_BYTES} bytes of JSON`);
  return v;
}

export class TaskStore {
  constructor(private readonly catalog: Catalog) {}

  private async key(session: string): Promise<{ key: string }> {
    const project = await this.catalog.projectOf(session);
    if (!project) throw new NotFoundError('session', `session ${JSON.stringify(session)} not found`);
    return { key: this.catalog.store(project).prefix + `sessions/${session}/tasks.json` };
  }

  async get(session: string): Promise<TaskDoc> {
    const { key } = await this.key(session);
    return (await readDoc<TaskDoc>(this.catalog.backend, key)) ?? { tasks: [], plans: [] };
  }

  private async edit<T>(session: string, fn: (doc: TaskDoc) => T): Promise<T> {
    const { key } = await this.key(session);
    let out!: T;
    await updateDoc<TaskDoc>(this.catalog.backend, key, (cur) => {
      const doc = structuredClone(cur ?? { tasks: [], plans: [] });
      out = fn(doc);
      return doc;
    });
    return out;
  }

  addTask(session: string, t: { type: TaskType; description: string; status?: TaskStatus; plan?: string }): Promise<Task> {
    return this.edit(session, (doc) => {
      if (doc.tasks.length >= MAX_TASKS) throw new InvalidStateError(`session ${session} has ${MAX_TASKS} tasks, the most it may have`);
      if (t.plan && !doc.plans.some((p) => p.id === t.plan)) throw new InvalidInputError('plan', `no plan ${t.plan} in this session`);
      const now = new Date().toISOString();
      const task: Task = {
        id: `task-${randomBytes(6).toString('hex')}`,
        session_id: session,
        type: t.type,
        description: t.description,
        status: 'pending',
        created_at: now,
        updated_at: now,
        ...(t.plan ? { plan: t.plan } : {}),
      };
      if (t.status && t.status !== 'pending') move(task, t.status, {});
      doc.tasks.push(task);
      return task;
    });
  }

  updateTask(
    session: string,
    id: string,
    u: { status?: TaskStatus; result?: unknown; error?: string; description?: string },
  ): Promise<Task> {
    return this.edit(session, (doc) => {
      const task = doc.tasks.find((x) => x.id === id);
      if (!task) throw new NotFoundError('task', `no task ${id} in session ${session}`);
      if (u.description !== undefined) task.description = u.description;
      if (u.status !== undefined && u.status !== task.status) move(task, u.status, u);
      else {
        if (u.result !== undefined) task.result = checkResult(u.result);
        if (u.error !== undefined) task.error = u.error;
      }
      task.updated_at = new Date().toISOString();
      return task;
    });
  }

  addPlan(session: string, p: { title: string; steps: string[] }): Promise<Plan> {
    return this.edit(session, (doc) => {
      const now = new Date().toISOString();
      const plan: Plan = {
        id: `plan-${randomBytes(6).toString('hex')}`,
        session_id: session,
        title: p.title,
        steps: p.steps.map((description) => ({ description, status: 'pending' })),
        created_at: now,
        updated_at: now,
      };
      doc.plans.push(plan);
      return plan;
    });
  }

  updatePlan(session: string, id: string, steps: { index: number; status: StepStatus }[]): Promise<Plan> {
    return this.edit(session, (doc) => {
      const plan = doc.plans.find((x) => x.id === id);
      if (!plan) throw new NotFoundError('plan', `no plan ${id} in session ${session}`);
      for (const s of steps) {
        if (!plan.steps[s.index]) throw new InvalidInputError('steps', `plan ${id} has no step ${s.index}`);
        plan.steps[s.index]!.status = s.status;
      }
      plan.updated_at = new Date().toISOString();
      return plan;
    });
  }
}

function move(task: Task, to: TaskStatus, u: { result?: unknown; error?: string }): void {
  if (!NEXT[task.status].includes(to)) {
    throw new InvalidStateError(`task ${task.id} is ${task.status}; it cannot become ${to}`, { code: 'invalid_transition' });
  }
  const now = new Date().toISOString();
  if (to === 'running') task.started_at = now;
  if (to === 'completed' || to === 'failed') {
    task.finished_at = now;
    task.execution_ms = Date.parse(now) - Date.parse(task.started_at ?? task.created_at);
    if (u.result !== undefined) task.result = checkResult(u.result);
    if (u.error !== undefined) task.error = u.error;
  }
  task.status = to;
}
