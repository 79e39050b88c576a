// The fast-import stream of export-git: writeExportStream feeds `git fast-import` the commits of heads in
// order (blobs once each, a head's changes against its parent's tree, submodule links, the authors and
// messages of imported commits or the landing message with trailers), then the notes under refs/notes/mic
// holding each session record, and reads back the commit id of every head from the marks file. A commit
// fast-import cannot reproduce (signed) is written raw with hash-object instead. export.ts decides which
// heads need writing and remembers the result.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EMPTY_TREE, ObjectStore, type HeadRecord } from '../store/index.js';
import type { SessionRecord } from '../session/record.js';
import { diffTrees } from '../session/changes.js';
import { git, gitStream } from './run.js';
import { bytesOf, quotePath } from './paths.js';
import { lineBytes, messageBytes, subjectOf, type GitCommitInfo } from './commit-info.js';

/** A session record as export-git reads it: import-git adds the commit it was, the API the user. */
export type Rec = SessionRecord & { git?: GitCommitInfo; user?: string };

export interface ExportNode {
  head: string;
  rec: HeadRecord;
  session: Rec | null;
  /** set when this head is the imported tree of a git commit */
  info: GitCommitInfo | null;
  /** first parent head (null: root) and further parents: heads or commit ids */
  parents: ({ head: string } | { oid: string })[];
  /** commit id once known (already in the repository, or written) */
  oid: string | null;
  mark: number;
  gitlinks: Record<string, string>;
}

const PREFETCH = 16;
const OUT_CHUNK = 256 * 1024;
const SCRATCH = 'refs/mic-export/scratch';

function identity(envName: string, envEmail: string, fallbackName: string, time: string): string {
  const name = process.env[envName] || fallbackName;
  const email = process.env[envEmail] || 'mic-fs@localhost';
  return `${name.replace(/[<>\n]/g, '')} <${email.replace(/[<>\n]/g, '')}> ${Math.floor(Date.parse(time) / 1000)} +0000`;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The commit message of a head that was not imported: landing message, then trailers. */
function messageOf(n: ExportNode): Buffer {
  const base = n.info ? messageBytes(n.info).toString('utf8') : n.rec.message;
  const lines = [`Mic-Head: ${n.head}`];
  const s = n.session;
  if (s) {
    lines.push(`Mic-Session: ${s.session_id}`, `Goal: ${oneLine(s.goal)}`);
    for (const d of s.decisions) lines.push(`Decision: ${oneLine(d.decision)}`);
  }
  return Buffer.from(`${base.replace(/\s+$/, '') || '(no message)'}\n\n${lines.join('\n')}\n`, 'utf8');
}

interface Prepared {
  changes: Buffer[];
  blobs: Map<string, Buffer>;
}

export async function writeExportStream(
  store: ObjectStore,
  dir: string,
  branch: string,
  order: ExportNode[],
  nodes: Map<string, ExportNode>,
  missingParents: Set<string>,
  result: { exported: number; notes: number },
  o: { onProgress?: (p: { done: number; total: number }) => void },
  parentLinks: (head: string) => Record<string, string>,
): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'mic-export-'));
  const marksFile = path.join(tmp, 'marks');
  // Fast zlib (level 1): lua's history takes 8.3 s of fast-import CPU instead of 13.3 s for a pack of
  // 101 MB instead of 87 MB. Deltas stay: without them (--depth=0) lua gains 3.6 s more, but a history of
  // small similar files (bench-git's generated one) packs 5x larger and slower. `git gc` packs it small.
  // glibc's malloc gives the top of fast-import's heap back to the kernel and takes it again ~20 times per
  // commit (210k brk calls for bench-git's generated history: 2.7 s of system time of its 4.2 s); a 64 MiB
  // top pad keeps it (same pack, 1.9 s instead of 5.3 s).
  const fi = gitStream(['-c', 'pack.compression=1', 'fast-import', '--quiet', `--export-marks=${marksFile}`], dir, {
    MALLOC_TOP_PAD_: String(64 << 20),
  });
  const stdin = fi.proc.stdin;
  // the stream goes out in pieces of OUT_CHUNK bytes: one pipe write per piece, not per line
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const send = async (b: Buffer) => {
    if (!stdin.write(b)) await Promise.race([once(stdin, 'drain'), fi.wait()]);
  };
  const flushOut = async () => {
    if (!pendingBytes) return;
    // corked: the pieces go out in one writev, not copied together first (Lua's history is 300 MB of blobs)
    const parts = pending;
    pending = [];
    pendingBytes = 0;
    stdin.cork();
    let ok = true;
    for (const b of parts) ok = stdin.write(b);
    stdin.uncork();
    if (!ok) await Promise.race([once(stdin, 'drain'), fi.wait()]);
  };
  const write = async (x: Buffer | string) => {
    const b = typeof x === 'string' ? Buffer.from(x) : x;
    if (b.length >= OUT_CHUNK) {
      await flushOut();
      return send(b);
    }
    pending.push(b);
    pendingBytes += b.length;
    if (pendingBytes >= OUT_CHUNK) await flushOut();
  };
  const blobMarks = new Map<string, number>();
  let nextMark = 1;
  const ref = `refs/heads/${branch}`;
  const notes: { mark: number; body: string }[] = [];
  const rawWritten = new Set<string>();

  const prepare = async (n: ExportNode): Promise<Prepared> => {
    const replay = replayable(n);
    if (replay) {
      // an imported head: its commit's own change list against the parent head, in fast-export's order
      const blobs = new Map<string, Buffer>();
      await Promise.all(
        replay.map(async (c) => {
          if (c.startsWith('M ') && !c.startsWith('M 160000 ')) {
            const h = c.slice(9, 73);
            if (!blobMarks.has(h) && !blobs.has(h)) blobs.set(h, await store.getBlob(h));
          }
        }),
      );
      return { changes: replay.map(replayLine), blobs };
    }
    const parentTree = n.rec.parent ? (await store.getHeadRecord(n.rec.parent)).tree : EMPTY_TREE;
    const list = await diffTrees(store, parentTree, n.rec.tree);
    const dels: Buffer[] = [];
    const mods: Buffer[] = [];
    const blobs = new Map<string, Buffer>();
    await Promise.all(
      list.map(async (c) => {
        const p = quotePath(bytesOf(c.path));
        const a = c.after;
        if (!a || a.kind === 'dir' || a.kind === 'fifo' || a.kind === 'socket') {
          if (c.before && c.before.kind !== 'dir') dels.push(Buffer.concat([Buffer.from('D '), p, Buffer.from('\n')]));
          return;
        }
        if (c.before && c.before.kind === 'dir') dels.push(Buffer.concat([Buffer.from('D '), p, Buffer.from('\n')]));
        if (a.kind === 'symlink') {
          const t = bytesOf(a.target ?? '');
          mods.push(Buffer.concat([Buffer.from('M 120000 inline '), p, Buffer.from(`\ndata ${t.length}\n`), t, Buffer.from('\n')]));
        } else {
          if (!blobMarks.has(a.hash!)) blobs.set(a.hash!, await store.getBlob(a.hash!));
          mods.push(Buffer.concat([Buffer.from(`M ${a.mode & 0o100 ? '100755' : '100644'} @${a.hash} `), p, Buffer.from('\n')]));
        }
      }),
    );
    // submodules recorded by import-git
    const before = n.rec.parent ? parentLinks(n.rec.parent) : {};
    for (const [p, sha] of Object.entries(n.gitlinks)) {
      if (before[p] !== sha) mods.push(Buffer.concat([Buffer.from(`M 160000 ${sha} `), quotePath(bytesOf(p)), Buffer.from('\n')]));
    }
    for (const p of Object.keys(before))
      if (!(p in n.gitlinks)) dels.push(Buffer.concat([Buffer.from('D '), quotePath(bytesOf(p)), Buffer.from('\n')]));
    return { changes: [...dels.sort(Buffer.compare), ...mods.sort(Buffer.compare)], blobs };
  };

  try {
    const ahead: Promise<Prepared>[] = [];
    for (let i = 0; i < Math.min(PREFETCH, order.length); i++) ahead.push(prepare(order[i]!));
    for (let i = 0; i < order.length; i++) {
      const n = order[i]!;
      const prep = await ahead.shift()!;
      if (i + PREFETCH < order.length) ahead.push(prepare(order[i + PREFETCH]!));
      for (const [h, data] of prep.blobs) {
        if (blobMarks.has(h)) continue;
        const m = nextMark++;
        blobMarks.set(h, m);
        await write(`blob\nmark :${m}\ndata ${data.length}\n`);
        await write(data);
        await write('\n');
      }
      n.mark = nextMark++;
      const info = n.info;
      const author = info
        ? lineBytes(info.author)
        : Buffer.from(
            identity(
              'GIT_AUTHOR_NAME',
              'GIT_AUTHOR_EMAIL',
              n.session?.user?.replace(/ <.*$/, '') || n.session?.agent || 'mic-fs',
              n.rec.time,
            ),
          );
      const committer = info
        ? lineBytes(info.committer)
        : Buffer.from(identity('GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'mic-fs', n.rec.time));
      const msg = info ? messageBytes(info) : messageOf(n);
      const parents = n.parents
        .map((p) => ('head' in p ? nodes.get(p.head)! : p))
        .map((p) => ('head' in p ? (p.oid ?? `:${p.mark}`) : missingParents.has(p.oid) ? null : p.oid))
        .filter((x): x is string => x !== null);
      // a commit fast-import cannot reproduce (signed) is written there for its tree, then stored raw
      const target = info?.raw_b64 ? SCRATCH : ref;
      const head: Buffer[] = [
        Buffer.from(parents.length ? '' : `reset ${target}\n`),
        Buffer.from(`commit ${target}\nmark :${n.mark}\nauthor `),
        author,
        Buffer.from('\ncommitter '),
        committer,
        Buffer.from('\n'),
      ];
      if (info?.encoding) head.push(Buffer.from(`encoding ${info.encoding}\n`));
      head.push(Buffer.from(`data ${msg.length}\n`), msg, Buffer.from('\n'));
      if (parents.length) head.push(Buffer.from(`from ${parents[0]}\n`));
      for (const p of parents.slice(1)) head.push(Buffer.from(`merge ${p}\n`));
      await write(Buffer.concat(head));
      for (const c of prep.changes) {
        const at = c.indexOf('@');
        if (c[0] === 77 && at > 0 && at < 20) {
          // M <mode> @<hash> path: the blob's mark
          const sp = c.indexOf(32, at);
          await write(
            Buffer.concat([c.subarray(0, at), Buffer.from(`:${blobMarks.get(c.toString('latin1', at + 1, sp))}`), c.subarray(sp)]),
          );
        } else await write(c);
      }
      await write('\n');
      if (info?.raw_b64) {
        const oid = (
          await git(['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: dir, input: Buffer.from(info.raw_b64, 'base64') })
        ).stdout
          .toString()
          .trim();
        n.oid = oid;
        rawWritten.add(n.head);
      }
      if (!info && n.session) notes.push({ mark: n.mark, body: JSON.stringify(noteOf(n.session), null, 2) + '\n' });
      result.exported++;
      o.onProgress?.({ done: result.exported, total: order.length });
    }
    const last = order[order.length - 1]!;
    await write(`reset ${ref}\nfrom ${rawWritten.has(last.head) ? last.oid : `:${last.mark}`}\n\n`);
    if (notes.length) {
      const hasNotes = (await git(['rev-parse', '--verify', '--quiet', 'refs/notes/mic'], { cwd: dir, allowFail: true })).code === 0;
      const msg = `mic: session records of ${notes.length} commits\n`;
      await write(
        `commit refs/notes/mic\ncommitter mic-fs <mic-fs@localhost> ${Math.floor(Date.now() / 1000)} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}`,
      );
      if (hasNotes) await write('from refs/notes/mic^0\n');
      for (const nt of notes) await write(`N inline :${nt.mark}\ndata ${Buffer.byteLength(nt.body)}\n${nt.body}\n`);
      await write('\n');
      result.notes = notes.length;
    }
    await flushOut();
    stdin.end();
    await fi.wait();
    const marks = new Map<number, string>();
    for (const l of (await readFile(marksFile, 'utf8')).split('\n')) {
      const [m, oid] = l.split(' ');
      if (m && oid) marks.set(Number(m.slice(1)), oid);
    }
    for (const n of order) if (!rawWritten.has(n.head)) n.oid = marks.get(n.mark) ?? null;
    if (rawWritten.size) await git(['update-ref', '-d', SCRATCH], { cwd: dir, allowFail: true });
  } catch (e) {
    fi.proc.kill();
    throw e;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The change list import-git recorded for an imported head, when it still describes the step from the head's
 *  parent to the head (the record's base and sealed tree are the head record's): else null, diff the trees. */
function replayable(n: ExportNode): string[] | null {
  const ch = n.info?.changes;
  const s = n.session;
  if (!ch || !s || (s.base?.head ?? null) !== n.rec.parent || s.sealed?.tree !== n.rec.tree) return null;
  return ch;
}

/** A recorded change as a fast-import line; a blob's hash as `@<hash>` (replaced by its mark when written). */
function replayLine(c: string): Buffer {
  if (c === 'deleteall') return Buffer.from('deleteall\n');
  if (c.startsWith('D ')) return Buffer.concat([Buffer.from('D '), quotePath(bytesOf(c.slice(2))), Buffer.from('\n')]);
  // M <mode> <ref> <path>: mode is 6 characters
  const sp = c.indexOf(' ', 9);
  const ref = c.slice(9, sp);
  const at = c.startsWith('M 160000 ') ? ref : `@${ref}`;
  return Buffer.concat([Buffer.from(`${c.slice(0, 9)}${at} `), quotePath(bytesOf(c.slice(sp + 1))), Buffer.from('\n')]);
}

/** The note of a session commit: the whole record, as the API shows it. */
function noteOf(s: Rec): unknown {
  return {
    session_id: s.session_id,
    project: s.project,
    goal: s.goal,
    description: s.description,
    message: s.message ?? null,
    subject: subjectOf(s.message ?? s.goal),
    agent: s.agent ?? null,
    started_at: s.started_at,
    landed_at: s.landed_at,
    landed_head: s.landed_head ?? null,
    conversation: s.conversation,
    decisions: s.decisions,
    changes: s.changes ?? null,
    metadata: s.metadata,
    tags: s.tags,
    timeline: s.timeline ?? [],
  };
}
