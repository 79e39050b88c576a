// READ of a base file: only the chunks it needs. When they are not in RAM and the store takes longer than
// `waitMs`, the READ answers JUKEBOX (RFC 1813 2.6: NFS3ERR_JUKEBOX) while the fetch goes on and fills the
// cache for the client's retry. A failed read is logged once per object (a client retries a READ that fails).
import type { Logger } from 'pino';
import { FsError, NfsStatus } from './file-system.js';
import type { ContentSource } from '../core/content-source.js';
import { largeBuffers } from '../../util/buffer-pool.js';

export const READ_WAIT_MS = 1500;

/** How many failed objects are remembered so that each is logged once (the oldest is forgotten first). */
export const LOGGED_FAILURES_MAX = 4096;
const loggedFailures = new Set<string>();

/** True the first time (recently) that reading this object failed: a damaged object is logged once, not on
 *  every READ a client retries (each READ still answers the error). Memory: at most LOGGED_FAILURES_MAX. */
function firstFailure(hash: string): boolean {
  if (loggedFailures.has(hash)) return false;
  if (loggedFailures.size >= LOGGED_FAILURES_MAX) loggedFailures.delete(loggedFailures.values().next().value!);
  loggedFailures.add(hash);
  return true;
}

/** A range of a base blob; `release`, when present, gives a pooled buffer back once the data is sent. */
export async function readBase(
  source: ContentSource,
  hash: string,
  offset: number,
  len: number,
  waitMs: number,
  log: Logger,
): Promise<{ data: Buffer; release?: () => void }> {
  const hit = source.cachedSlices(hash, offset, len);
  if (hit) return joinPooled(hit); // no timer for data already in RAM
  const p = source.readSlices(hash, offset, len);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((res) => {
    timer = setTimeout(() => res(null), waitMs);
  });
  let parts: Buffer[] | null;
  try {
    parts = await Promise.race([p, late]);
  } catch (e) {
    if (e instanceof FsError) throw e;
    if (firstFailure(hash)) log.error({ err: e, blob: hash, offset }, 'read of a base file failed (logged once per object)');
    throw new FsError(NfsStatus.IO, (e as Error).message);
  } finally {
    clearTimeout(timer);
  }
  if (parts) {
    if (loggedFailures.size) loggedFailures.delete(hash); // read again: a later failure is news
    return joinPooled(parts);
  }
  p.catch((e: unknown) => {
    if (firstFailure(hash)) log.warn({ err: e, blob: hash, offset }, 'background fetch after JUKEBOX failed (logged once per object)');
  });
  throw new FsError(NfsStatus.JUKEBOX, 'store is slow; the fetch continues');
}

/** Slices as one Buffer: the slice itself, or a copy into a pooled buffer (faulted in already) to give back. */
function joinPooled(parts: Buffer[]): { data: Buffer; release?: () => void } {
  if (parts.length === 1) return { data: parts[0]! };
  let total = 0;
  for (const p of parts) total += p.length;
  if (total > largeBuffers.size) return { data: Buffer.concat(parts, total) };
  const pooled = largeBuffers.take();
  let at = 0;
  for (const p of parts) at += p.copy(pooled, at);
  return { data: pooled.subarray(0, total), release: () => largeBuffers.give(pooled) };
}
