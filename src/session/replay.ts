// Replay (seed 004 canReplay / replay / getReplayMetadata): a session's timeline played back in order,
// each event after the same spacing as when it was recorded, divided by a speed factor. The API streams it
// as server-sent events (src/api/replay-routes.ts), `mic session replay` prints it.
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInputError } from './errors.js';
import type { TimelineEvent } from './record.js';

export interface ReplayMetadata {
  session_id: string;
  /** it has events to play back */
  can_replay: boolean;
  event_count: number;
  file_events: number;
  /** from the first event to the last, as recorded (ms) */
  duration_ms: number;
  first_event_at: string | null;
  last_event_at: string | null;
  last_seq: number;
}

export interface ReplayOptions {
  /** 1 plays in real time, 10 ten times faster (0.01 .. 10 000) */
  speed: number;
  /** only events after this sequence number (a reconnecting client's Last-Event-ID) */
  after: number;
  /** no wait between two events is longer than this (ms, after scaling) */
  maxGapMs: number;
}

export const MAX_SPEED = 10_000;
export const DEFAULT_MAX_GAP_MS = 10_000;

const ms = (t: string): number => Date.parse(t) || 0;

export function replayMetadata(sessionId: string, events: readonly TimelineEvent[]): ReplayMetadata {
  const first = events[0],
    last = events[events.length - 1];
  return {
    session_id: sessionId,
    can_replay: events.length > 0,
    event_count: events.length,
    file_events: events.filter((e) => e.type === 'file').length,
    duration_ms: first && last ? Math.max(0, ms(last.time) - ms(first.time)) : 0,
    first_event_at: first?.time ?? null,
    last_event_at: last?.time ?? null,
    last_seq: last?.seq ?? 0,
  };
}

function num(v: string | undefined, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidInputError(field, `must be a number from ${min} to ${max}`);
  return n;
}

/** Options from query parameters: speed, after (or a Last-Event-ID), max_gap (seconds). */
export function replayOptions(q: { speed?: string; after?: string; max_gap?: string }): ReplayOptions {
  return {
    speed: num(q.speed, 'speed', 1, 0.01, MAX_SPEED),
    after: Math.floor(num(q.after, 'after', 0, 0, Number.MAX_SAFE_INTEGER)),
    maxGapMs: num(q.max_gap, 'max_gap', DEFAULT_MAX_GAP_MS / 1000, 0, 86_400) * 1000,
  };
}

/** The events after `after`, each yielded once its scaled spacing from the one before has passed. */
export async function* replayEvents(
  events: readonly TimelineEvent[],
  o: ReplayOptions,
  signal?: AbortSignal,
): AsyncGenerator<{ event: TimelineEvent; delay_ms: number }> {
  let prev: TimelineEvent | null = null;
  for (const e of events) {
    if ((e.seq ?? 0) <= o.after) {
      prev = e;
      continue;
    }
    const gap = prev ? Math.max(0, ms(e.time) - ms(prev.time)) : 0;
    const delay = Math.min(o.maxGapMs, gap / o.speed);
    if (delay > 0) await sleep(delay, undefined, { signal });
    if (signal?.aborted) return;
    yield { event: e, delay_ms: Math.round(delay) };
    prev = e;
  }
}
