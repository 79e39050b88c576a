// A parser for `git fast-export` streams (the format of git-fast-import(1)), as git writes them with
// --show-original-ids --reencode=no --reference-excluded-parents. Yields blobs and commits in order.
import type { Readable } from 'node:stream';
import { ByteReader } from './reader.js';
import { unquotePath } from './paths.js';

export interface BlobEvent {
  type: 'blob';
  mark: string;
  oid: string | null;
  data: Buffer;
}

export type FileChange = { op: 'M'; mode: string; ref: string; path: Buffer } | { op: 'D'; path: Buffer } | { op: 'deleteall' };

export interface CommitEvent {
  type: 'commit';
  ref: string;
  mark: string | null;
  oid: string | null;
  /** the lines after "author " / "committer ": name <email> time tz */
  author: Buffer | null;
  committer: Buffer;
  encoding: string | null;
  message: Buffer;
  /** first parent (":mark" or a commit id), null for a root commit */
  from: string | null;
  merges: string[];
  changes: FileChange[];
}

export type ExportEvent = BlobEvent | CommitEvent;

const text = (b: Buffer, from: number) => b.toString('utf8', from);

async function data(r: ByteReader, line: Buffer | null): Promise<Buffer> {
  if (!line || !line.subarray(0, 5).equals(Buffer.from('data ')))
    throw new Error(`fast-export: expected data, got ${line?.toString('utf8').slice(0, 40)}`);
  const n = Number(text(line, 5));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error('fast-export: bad data length');
  const d = await r.bytes(n);
  await r.optionalLf();
  return d;
}

/** Splits "M <mode> <ref> <path>". */
function modify(l: Buffer): FileChange {
  const a = l.indexOf(32, 2);
  const b = l.indexOf(32, a + 1);
  return { op: 'M', mode: l.toString('latin1', 2, a), ref: l.toString('latin1', a + 1, b), path: unquotePath(l.subarray(b + 1)) };
}

export async function* parseFastExport(stream: Readable): AsyncGenerator<ExportEvent> {
  const r = new ByteReader(stream);
  let pending: Buffer | null = null;
  const next = async () => {
    if (pending) {
      const p = pending;
      pending = null;
      return p;
    }
    return r.line();
  };
  for (;;) {
    const l = await next();
    if (l === null) return;
    if (l.length === 0) continue;
    const cmd = l.toString('latin1', 0, Math.min(l.length, 12));
    if (cmd === 'blob') {
      let mark = '',
        oid: string | null = null;
      let x = await next();
      if (x && x.toString('latin1', 0, 5) === 'mark ') {
        mark = text(x, 5);
        x = await next();
      }
      if (x && x.toString('latin1', 0, 13) === 'original-oid ') {
        oid = text(x, 13);
        x = await next();
      }
      yield { type: 'blob', mark, oid, data: await data(r, x) };
    } else if (cmd.startsWith('commit ')) {
      const c: CommitEvent = {
        type: 'commit',
        ref: text(l, 7),
        mark: null,
        oid: null,
        author: null,
        committer: Buffer.alloc(0),
        encoding: null,
        message: Buffer.alloc(0),
        from: null,
        merges: [],
        changes: [],
      };
      let x = await next();
      for (; x && !x.subarray(0, 5).equals(Buffer.from('data ')); x = await next()) {
        const s = x.toString('latin1', 0, 13);
        if (s.startsWith('mark ')) c.mark = text(x, 5);
        else if (s.startsWith('original-oid ')) c.oid = text(x, 13);
        else if (s.startsWith('author ')) c.author = Buffer.from(x.subarray(7));
        else if (s.startsWith('committer ')) c.committer = Buffer.from(x.subarray(10));
        else if (s.startsWith('encoding ')) c.encoding = text(x, 9);
      }
      c.message = Buffer.from(await data(r, x));
      for (x = await next(); x && x.length > 0; x = await next()) {
        const op = x[0];
        if (op === 77 /* M */) c.changes.push(modify(x));
        else if (op === 68 /* D */) c.changes.push({ op: 'D', path: Buffer.from(unquotePath(x.subarray(2))) });
        else if (x.toString('latin1', 0, 5) === 'from ') c.from = text(x, 5);
        else if (x.toString('latin1', 0, 6) === 'merge ') c.merges.push(text(x, 6));
        else if (x.toString('latin1') === 'deleteall') c.changes.push({ op: 'deleteall' });
        else if (op === 67 || op === 82) throw new Error('fast-export: copies and renames are not expected (run without -M/-C)');
        else {
          pending = x;
          break;
        }
      }
      for (const ch of c.changes) if (ch.op !== 'deleteall') ch.path = Buffer.from(ch.path); // detach from the read buffer
      yield c;
    } else if (
      cmd.startsWith('reset ') ||
      cmd.startsWith('from ') ||
      cmd.startsWith('feature ') ||
      cmd.startsWith('progress ') ||
      cmd === 'done'
    ) {
      // refs and stream options: the importer follows commits only
    } else if (cmd.startsWith('tag ')) {
      for (let x = await next(); x && x.length > 0; x = await next()) {
        if (x.subarray(0, 5).equals(Buffer.from('data '))) {
          await data(r, x);
          break;
        }
      }
    } else {
      throw new Error(`fast-export: unexpected line ${JSON.stringify(l.toString('utf8').slice(0, 60))}`);
    }
  }
}
