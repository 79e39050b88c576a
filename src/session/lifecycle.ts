// Status changes beside landing and abandoning (land.ts): suspend, fail, resume, delete, and the purge of
// a session that a single-shot create could not land. Statuses (record.ts): active -> suspended | failed
// (both read-only, the tree kept) -> active again by resume; active | suspended | failed -> landed or
// abandoned, which are final.
import { rm } from 'node:fs/promises';
import { InvalidStateError } from './errors.js';
import { sessionDir } from './host.js';
import { abandonSession, addEvent, type LandContext } from './land.js';
import { sessionView, type SessionRecord, type SessionStatus } from './record.js';

async function moveTo(ctx: LandContext, r: SessionRecord, to: SessionStatus, from: readonly SessionStatus[]): Promise<void> {
  if (!from.includes(r.status))
    throw new InvalidStateError(`session ${r.session_id} is ${r.status}, not ${from.join(' or ')}`, { session: sessionView(r) });
  const now = new Date().toISOString();
  addEvent(r, { type: 'status', from: r.status, status: to, time: now });
  r.status = to;
  r.updated_at = now;
  await ctx.catalog.update(r);
  const fs = ctx.host.served(r.session_id);
  if (fs) fs.suspended = to !== 'active'; // suspended and failed exports are read-only (ROFS)
}

export function suspendSession(ctx: LandContext, r: SessionRecord): Promise<void> {
  return moveTo(ctx, r, 'suspended', ['active']);
}

/** An agent gave up: the tree is kept for inspection, read-only, and cannot land until resumed. */
export async function failSession(ctx: LandContext, r: SessionRecord, reason: string): Promise<void> {
  r.failure = { reason, time: new Date().toISOString() };
  await moveTo(ctx, r, 'failed', ['active', 'suspended']);
}

export async function resumeSession(ctx: LandContext, r: SessionRecord): Promise<void> {
  r.failure = null;
  await moveTo(ctx, r, 'active', ['suspended', 'failed']);
}

/** DELETE: a live session is abandoned and its local data freed; an abandoned one has nothing left here;
 *  a landed one is history, which is immutable (409). */
export async function deleteSession(ctx: LandContext, r: SessionRecord): Promise<void> {
  if (r.status === 'landed')
    throw new InvalidStateError(`session ${r.session_id} has landed; a landed session is history, which is immutable`, {
      session: sessionView(r),
    });
  if (r.status !== 'abandoned') await abandonSession(ctx, r);
  await rm(sessionDir(ctx.dataDir, r.session_id), { recursive: true, force: true });
}

/** Removes every trace of a session that never landed (a single-shot create refused): its record, index
 *  entry, holder and recorded tree, its local state. The id can be used again. */
export async function purgeSession(ctx: LandContext, r: SessionRecord): Promise<void> {
  ctx.host.close(r.session_id, { discard: true });
  await rm(sessionDir(ctx.dataDir, r.session_id), { recursive: true, force: true });
  const store = ctx.catalog.store(r.project);
  const prefix = `${store.key(`sessions/${r.session_id}/metadata.json`).slice(0, -'metadata.json'.length)}`;
  const keys: string[] = [];
  for await (const o of ctx.catalog.backend.list(prefix)) keys.push(o.key);
  for (const k of keys) await ctx.catalog.backend.delete(k);
  await ctx.catalog.forget(r.session_id, r.started_at);
}
