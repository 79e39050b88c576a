// READ of a session file (RFC 1813 3.3.6): from the session's data file when the file changed in the
// session, else from its base blob (RAM -> SSD -> S3, JUKEBOX when the store is slow).
import type { Logger } from 'pino';
import { FileType, FsError, NfsStatus, type Cred, type ReadResult } from './file-system.js';

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

export async function readFile(
  state: SessionState,
  n: Inode,
  offset: number,
  count: number,
  cred: Cred,
  o: { fsid: bigint; log: Logger; readWaitMs?: number },
  into?: (len: number) => Buffer,
  byFile = false,
): Promise<ReadResult> {
  if (n.type === FileType.DIR) throw new FsError(NfsStatus.ISDIR);
  if (n.type !== FileType.REG) throw new FsError(NfsStatus.INVAL);
  if (cred.uid !== n.uid && !(permBits(n, cred) & 4)) throw new FsError(NfsStatus.ACCES);
  const len = Math.max(0, Math.min(count, n.size - offset));
  let attrs = n.attrs(o.fsid);
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
    let r: Chunk;
    let waited: boolean;
    try {
      const got = state.data.read(n.ino, offset, len, n.size);
      waited = got instanceof Promise;
      r = waited ? await got : (got as Chunk);
    } catch (e) {
      throw fsErrorOf(e) ?? e;
    }
    const eof = offset + r.data.length >= n.size;
    // after waiting for the read-ahead, post-op attributes as they are now (RFC 1813 3.3.6)
    if (waited) attrs = n.attrs(o.fsid);
    const pooled = r.pooled;
    if (!pooled) return { data: r.data, eof, attrs };
    const data = state.data;
    const release = (): void => {
      largeBuffers.give(pooled);
      data.sent();
    };
    return { data: r.data, eof, attrs, release, frame: pooled };
  }
  if (n.blob) {
    const r = await readBase(state.source, n.blob, offset, len, o.readWaitMs ?? READ_WAIT_MS, o.log);
    return { data: r.data, eof: offset + r.data.length >= n.size, attrs, release: r.release };
  }
  return { data: Buffer.alloc(len), eof: offset + len >= n.size, attrs };
}
