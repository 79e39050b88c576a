// `git cat-file --batch-check`: does the repository have an object? One process, one line per question.
import { gitStream, type GitProcess } from './run.js';
import { ByteReader } from './reader.js';

export class BatchCheck {
  private readonly p: GitProcess;
  private readonly r: ByteReader;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.p = gitStream(['cat-file', '--batch-check=%(objectname) %(objecttype)'], dir);
    this.r = new ByteReader(this.p.proc.stdout);
  }

  /** The object's type ('commit', 'tree', ...) or null when missing. Questions are pipelined: each is
   *  written at once, answers are read in the same order. */
  type(oid: string): Promise<string | null> {
    if (!/^[0-9a-f]{40,64}$/.test(oid)) return Promise.resolve(null); // one line per question, always
    this.p.proc.stdin.write(oid + '\n');
    const run = this.chain.then(async () => {
      const l = (await this.r.line())?.toString('utf8') ?? '';
      return l.endsWith(' missing') ? null : (l.split(' ')[1] ?? null);
    });
    this.chain = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.p.proc.stdin.end();
    await this.p.wait().catch(() => {});
  }
}
