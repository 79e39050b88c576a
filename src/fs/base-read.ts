// READ of a base file: only the chunks it needs. When they are not in RAM and the store takes longer than
// `waitMs`, the READ answers JUKEBOX (RFC 1813 2.6: NFS3ERR_JUKEBOX) while the fetch goes on and fills the
// cache for the client's retry.
import type { Logger } from 'pino';
import { FsError, NfsStatus } from './file-system.js';
import type { ContentSource } from '../core/content-source.js';
import { largeBuffers } from '../../util/buffer-pool.js';

export const READ_WAIT_MS = 1500;

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
    log.error({ err: e, blob: hash, offset }, 'read of a base file failed');
    throw new FsError(NfsStatus.IO, (e as Error).message);
  } finally {
    clearTimeout(timer);
  }
  if (parts) return joinPooled(parts);
  p.catch((e: unknown) => log.warn({ err: e, blob: hash, offset }, 'background fetch after JUKEBOX failed'));
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
