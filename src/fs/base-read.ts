// READ of a base file: only the chunks it needs. When they are not in RAM and the store takes longer than
// `waitMs`, the READ answers JUKEBOX (RFC 1813 2.6: NFS3ERR_JUKEBOX) while the fetch goes on and fills the
// cache for the client's retry. A failed read is logged once per object (a client retries a READ that fails).
import type { Logger } from 'pino';
import { FsError, NfsStatus } from './file-system.js';
import type { ContentSource, LeasedSlices } from '../core/content-source.js';

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

/** A range of a base blob, as the consecutive slices of the cached chunks it spans (not to be modified),
 *  leased: release them once sent. */
export async function readBase(
  source: ContentSource,
  hash: string,
  offset: number,
  len: number,
  waitMs: number,
  log: Logger,
): Promise<LeasedSlices> {
  const hit = source.cachedSlices(hash, offset, len);
  if (hit) return hit; // no timer for data already in RAM
  const p = source.readSlices(hash, offset, len);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((res) => {
    timer = setTimeout(() => res(null), waitMs);
  });
  let parts: LeasedSlices | null;
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
    return parts;
  }
  p.then((late) => late.release()).catch((e: unknown) => {
    if (firstFailure(hash)) log.warn({ err: e, blob: hash, offset }, 'background fetch after JUKEBOX failed (logged once per object)');
  });
  throw new FsError(NfsStatus.JUKEBOX, 'store is slow; the fetch continues');
}
