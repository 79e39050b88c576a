// Commits git fast-import cannot write again byte for byte (signed: gpgsig, mergetag, or any other extra
// header): read with `git cat-file --batch` so export-git can store their raw objects as they were.
import { git, gitStream } from './run.js';
import { ByteReader } from './reader.js';

const PLAIN = new Set(['tree', 'parent', 'author', 'committer', 'encoding']);

/** Header names of a raw commit beyond tree/parent/author/committer/encoding. */
function hasExtraHeaders(raw: Buffer): boolean {
  const end = raw.indexOf('\n\n');
  const head = raw.toString('latin1', 0, end < 0 ? raw.length : end);
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header
    if (!PLAIN.has(line.slice(0, line.indexOf(' ')))) return true;
  }
  return false;
}

/** commit id -> raw object, for the commits of revs that carry extra headers. */
export async function rawSpecialCommits(dir: string, revs: string[]): Promise<Map<string, Buffer>> {
  const list = (await git(['rev-list', ...revs], { cwd: dir })).stdout;
  const out = new Map<string, Buffer>();
  if (list.length === 0) return out;
  const p = gitStream(['cat-file', '--batch'], dir);
  const r = new ByteReader(p.proc.stdout);
  p.proc.stdin.end(list);
  for (;;) {
    const l = await r.line();
    if (l === null || l.length === 0) break;
    const [oid, type, size] = l.toString('latin1').split(' ');
    if (type === 'missing') continue;
    const body = Buffer.from(await r.bytes(Number(size)));
    await r.optionalLf();
    if (type === 'commit' && hasExtraHeaders(body)) out.set(oid!, body);
  }
  await p.wait();
  return out;
}
