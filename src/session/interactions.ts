// Seed 002's interactions: command/result pairs with their timing and exit status, embedded in the session
// record. Appended by POST /api/sessions/:id/interactions and `mic session exec`.
import { InvalidInputError } from './errors.js';
import { body, isObject, known, str } from './input.js';
import type { Interaction } from './record.js';

export const MAX_INTERACTIONS = 1000;
export const MAX_COMMAND = 16 * 1024;
export const MAX_RESULT = 64 * 1024;

const FIELDS = ['command', 'result', 'exit_status', 'started_at', 'ended_at', 'duration_ms', 'cwd'] as const;

function time(o: Record<string, unknown>, field: string, prefix: string): number | undefined {
  const v = str(o, field, { prefix, max: 64 });
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidInputError(prefix + field, 'is not an ISO 8601 time');
  return t;
}

function one(v: unknown, prefix: string, actor: string | null, now: number): Interaction {
  if (!isObject(v)) throw new InvalidInputError(prefix.replace(/\.$/, '') || 'body', 'must be an object with command and result');
  known(v, FIELDS, prefix);
  const command = str(v, 'command', { required: true, max: MAX_COMMAND, prefix })!;
  const result = str(v, 'result', { max: MAX_RESULT, prefix, allowEmpty: true }) ?? '';
  const exit = v.exit_status;
  if (exit !== undefined && exit !== null && (!Number.isInteger(exit) || (exit as number) < -255 || (exit as number) > 255))
    throw new InvalidInputError(
      `${prefix}exit_status`,
      'must be an integer from -255 to 255, or null (killed by a signal, or not a process)',
    );
  const ended = time(v, 'ended_at', prefix);
  let started = time(v, 'started_at', prefix);
  const d = v.duration_ms;
  if (d !== undefined && (!Number.isSafeInteger(d) || (d as number) < 0))
    throw new InvalidInputError(`${prefix}duration_ms`, 'must be a whole number of milliseconds, 0 or more');
  const end = ended ?? (started !== undefined && d !== undefined ? started + (d as number) : now);
  started ??= d !== undefined ? end - (d as number) : end;
  if (end < started) throw new InvalidInputError(`${prefix}ended_at`, 'is before started_at');
  if (d !== undefined && ended !== undefined && v.started_at !== undefined && d !== end - started)
    throw new InvalidInputError(`${prefix}duration_ms`, 'differs from ended_at - started_at');
  const cwd = str(v, 'cwd', { max: 4096, prefix }) ?? null;
  return {
    command,
    result,
    exit_status: (exit as number | null | undefined) ?? null,
    started_at: new Date(started).toISOString(),
    ended_at: new Date(end).toISOString(),
    duration_ms: end - started,
    cwd,
    actor,
  };
}

/** One interaction, or several under "interactions". */
export function parseInteractions(raw: unknown, actor: string | null): Interaction[] {
  const b = body(raw);
  const now = Date.now();
  if (b.interactions === undefined) return [one(b, '', actor, now)];
  known(b, ['interactions']);
  if (!Array.isArray(b.interactions) || b.interactions.length === 0 || b.interactions.length > MAX_INTERACTIONS)
    throw new InvalidInputError('interactions', `must be a list of 1 to ${MAX_INTERACTIONS} interactions`);
  return b.interactions.map((x, i) => one(x, `interactions[${i}].`, actor, now));
}
