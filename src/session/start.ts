// Starting a session: record the current head. O(1): nothing is copied.
import type { Catalog } from './catalog.js';
import { isValidSessionId, newSessionId, type SessionRecord } from './record.js';
import { sessionsChanged } from '../metrics/session-metrics.js';

export class SessionInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StartOptions {
  project: string;
  goal: string;
  description?: string;
  sessionId?: string;
  owner?: { uid: number; gid: number };
  conversation?: SessionRecord['conversation'];
  decisions?: SessionRecord['decisions'];
  metadata?: Record<string, unknown>;
  tags?: string[];
}

export async function startSession(catalog: Catalog, o: StartOptions): Promise<SessionRecord> {
  if (!o.goal || typeof o.goal !== 'string') throw new SessionInputError('goal', 'goal is required');
  const id = o.sessionId ?? newSessionId();
  if (!isValidSessionId(id)) throw new SessionInputError('session_id', 'session_id must be 1-64 characters of [A-Za-z0-9._-]');
  if (await catalog.projectOf(id)) throw new SessionInputError('session_id', `session ${id} already exists`);
  const store = catalog.store(o.project);
  const head = await store.getHead();
  if (!head) throw new SessionInputError('project', `project ${o.project} has no head; run mic project init first`);
  const t = Date.parse(head.record.time);
  const now = new Date().toISOString();
  const r: SessionRecord = {
    session_id: id,
    project: o.project,
    goal: o.goal,
    description: o.description ?? '',
    status: 'active',
    base: { head: head.hash, tree: head.record.tree, nextIno: head.record.nextIno, time: [Math.floor(t / 1000), (t % 1000) * 1e6] },
    owner: o.owner ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    started_at: now,
    landed_at: null,
    conversation: (o.conversation ?? []).map((m) => ({ ...m, time: m.time ?? now })),
    decisions: (o.decisions ?? []).map((d) => ({ ...d, time: d.time ?? now })),
    metadata: o.metadata ?? {},
    tags: o.tags ?? [],
  };
  await catalog.put(r);
  sessionsChanged();
  return r;
}
