// READ of a session file (RFC 1813 3.3.6): from the session's data file when the file changed in the
// session, else from its base blob (RAM -> SSD -> S3, JUKEBOX when the store is slow).
import type { Logger } from 'pino';
import { FileType, FsError, NfsStatus, type Attrs, type Cred, type ReadResult } from './file-system.js';

export type { FileBytes, ReadResult } from './file-system.js';
import type { Inode } from '../core/inode.js';
import type { SessionState } from '../core/session-state.js';
import { fsErrorOf } from '../core/durable.js';
import { permBits } from './access.js';
import { readBase, READ_WAIT_MS } from './base-read.js';
import { largeBuffers } from '../../util/buffer-pool.js';
import { READ_AHEAD_MIN } from '../core/read-ahead.js';
import type { Chunk } from '../core/data-files.js';

const EMPTY = Buffer.alloc(0);

/** The result at once when no I/O needs waiting for (a file of the session, in the page cache: a READ of it
 *  is answered in the same turn), else a promise of it (a read-ahead in flight, a base file's blob). Throws. */
export function readFile(
  state: SessionState,
  n: Inode,
  offset: number,
  count: number,
  cred: Cred,
  o: { fsid: bigint; log: Logger; readWaitMs?: number },
  into?: (len: number) => Buffer,
  byFile = false,
): ReadResult | Promise<ReadResult> {
  if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
  if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
  if (cred.uid !== n.uid && !(permBits(n, cred) & 4)) throw new FsError(NfsStatus.ACCES);
  const len = Math.max(0, Math.min(count, n.size - offset));
  const attrs = n.attrs(o.fsid);
  if (len === 0) return { data: EMPTY, eof: offset >= n.size, attrs };
  if (n.local) {
    if (byFile && len >= READ_AHEAD_MIN) {
      // sent from the data file by the caller: no pread, no buffer, no read-ahead
      let lease;
      try {
        lease = state.data.lease(n.ino);
      } catch (e) {
        throw fsErrorOf(e) ?? e;
      }
      return { data: EMPTY, eof: offset + len >= n.size, attrs, file: { fd: lease.fd, offset, length: len, release: lease.release } };
    }
    if (into && len < READ_AHEAD_MIN) {
      // a small read goes straight into the reply: no Buffer of its own, no copy into the reply after
      let got: number;
      const buf = into(len);
      try {
        got = state.data.readInto(n.ino, buf, len, offset);
      } catch (e) {
        throw fsErrorOf(e) ?? e;
      }
      return { data: buf.subarray(0, got), eof: offset + got >= n.size, attrs, inPlace: true };
    }
    let got: Chunk | Promise<Chunk>;
    try {
      got = state.data.read(n.ino, offset, len, n.size);
    } catch (e) {
      throw fsErrorOf(e) ?? e;
    }
    if (!(got instanceof Promise)) return chunkResult(state, got, offset, n.size, attrs);
    // after waiting for the read-ahead, the bytes and post-op attributes as they are now (RFC 1813 3.3.6): a cut
    // made meanwhile may still be shrinking the data file on the thread pool (DataFiles.shrink), so the bytes
    // read can reach past the new size; those are not the file's any more
    return got.then(
      (r) => chunkResult(state, clampTo(r, n.size - offset), offset, n.size, n.attrs(o.fsid)),
      (e: unknown) => {
        throw fsErrorOf(e) ?? e;
      },
    );
  }
  if (n.blob) return readBlob(state, n.blob, offset, len, n.size, attrs, o);
  return { data: Buffer.alloc(len), eof: offset + len >= n.size, attrs };
}

/** The chunk's bytes up to `max` (a file cut while they were read), the pooled buffer kept to give back. */
function clampTo(r: Chunk, max: number): Chunk {
  const keep = Math.max(0, max);
  return r.data.length <= keep ? r : { data: r.data.subarray(0, keep), pooled: r.pooled };
}

/** A READ's result of bytes read from a data file (in a pooled buffer when large: given back once sent). */
function chunkResult(state: SessionState, r: Chunk, offset: number, size: number, attrs: Attrs): ReadResult {
  const eof = offset + r.data.length >= size;
  const pooled = r.pooled;
  if (!pooled) return { data: r.data, eof, attrs };
  const data = state.data;
  const release = (): void => {
    largeBuffers.give(pooled);
    data.sent();
  };
  return { data: r.data, eof, attrs, release, frame: pooled };
}

async function readBlob(
  state: SessionState,
  blob: string,
  offset: number,
  len: number,
  size: number,
  attrs: Attrs,
  o: { log: Logger; readWaitMs?: number },
): Promise<ReadResult> {
  // the chunks' buffers are leased: `release` (once the reply is sent) lets the pool reuse them; a caller that
  // never releases only keeps them from reuse
  const { parts, release } = await readBase(state.source, blob, offset, len, o.readWaitMs ?? READ_WAIT_MS, o.log);
  if (parts.length === 1) return { data: parts[0]!, eof: offset + parts[0]!.length >= size, attrs, release };
  if (parts.length === 0) return { data: EMPTY, eof: offset >= size, attrs, release };
  return new PartsResult(parts, offset, size, attrs, release);
}

/** A range over several chunks: `parts` for a caller that sends them by reference (no copy), `data` joined
 *  (copied) only when someone reads it. */
class PartsResult implements ReadResult {
  readonly eof: boolean;
  private joined: Buffer | null = null;
  constructor(
    readonly parts: readonly Buffer[],
    offset: number,
    size: number,
    public attrs: Attrs,
    readonly release: () => void,
  ) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.eof = offset + n >= size;
  }
  get data(): Buffer {
    return (this.joined ??= Buffer.concat(this.parts as Buffer[]));
  }
}
