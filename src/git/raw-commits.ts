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

/**
 * The raw objects of the commits of revs that carry extra headers, found by a scan that runs alongside the
 * import: get(oid) answers once the scan has passed oid (it reads the commits parents first, the order
 * fast-export writes them in), so the first commit imported does not wait for the whole history's scan.
 */
export class SpecialCommits {
  private readonly found = new Map<string, Buffer>();
  private readonly seen = new Set<string>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private done = false;
  private failure: unknown = null;

  constructor(dir: string, revs: string[]) {
    this.scan(dir, revs).then(
      () => this.finish(null),
      (e: unknown) => this.finish(e),
    );
  }

  /** The raw commit when oid carries extra headers, else undefined; throws if the scan failed. */
  async get(oid: string): Promise<Buffer | undefined> {
    if (!this.done && !this.seen.has(oid)) {
      await new Promise<void>((r) => {
        const w = this.waiters.get(oid);
        if (w) w.push(r);
        else this.waiters.set(oid, [r]);
      });
    }
    if (this.failure) throw this.failure;
    return this.found.get(oid);
  }

  private finish(e: unknown): void {
    this.failure = e;
    this.done = true;
    for (const w of this.waiters.values()) for (const r of w) r();
    this.waiters.clear();
  }

  private async scan(dir: string, revs: string[]): Promise<void> {
    const list = (await git(['rev-list', '--reverse', '--topo-order', ...revs], { cwd: dir })).stdout;
    if (list.length === 0) return;
    // --buffer: answers in full pipe buffers, not a flush (three writes) per commit
    const p = gitStream(['cat-file', '--batch', '--buffer'], dir);
    const r = new ByteReader(p.proc.stdout);
    p.proc.stdin.end(list);
    for (;;) {
      const l = await r.line();
      if (l === null || l.length === 0) break;
      const [oid, type, size] = l.toString('latin1').split(' ');
      if (type === 'missing') continue;
      const body = await r.bytes(Number(size));
      await r.optionalLf();
      if (type === 'commit' && hasExtraHeaders(body)) this.found.set(oid!, Buffer.from(body));
      this.seen.add(oid!);
      const w = this.waiters.get(oid!);
      if (w) {
        this.waiters.delete(oid!);
        for (const f of w) f();
      }
    }
    await p.wait();
  }
}
