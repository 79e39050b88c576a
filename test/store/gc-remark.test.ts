// Issue 8 item 3: a head made while gc runs may name an object gc has found unreferenced. gc marks again
// the heads made since its listing (as git's gc does with refs), so such an object is kept; fsck stays clean.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend, ObjectStore, objectRelKey, type TreeEntry } from '../../src/store/index.js';
import { collectGarbage } from '../../src/store/collect-garbage.js';
import { fsck } from '../../src/session/fsck.js';

const P = 'gc/remark';
const MIN = 60_000;

/** The local store; `during` runs when gc lists the heads a second time, after its first mark. */
class Hooked extends LocalBackend {
  private headLists = 0;
  during: (() => Promise<void>) | null = null;
  override async *list(prefix: string): AsyncIterable<{ key: string; size: number; mtimeMs: number }> {
    if (prefix.endsWith('/heads/') && ++this.headLists === 2 && this.during) await this.during();
    yield* super.list(prefix);
  }
}

const file = (name: string, hash: string, size: number, ino: number): TreeEntry => ({
  name,
  kind: 'file',
  mode: 0o644,
  ino,
  size,
  mtime: [1_700_000_000, 0],
  hash,
});

describe('gc and a landing during its sweep', () => {
  it('keeps an orphan that a head made during the collection names', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mic-gc-remark-'));
    const backend = new Hooked(root);
    const w = new ObjectStore(backend, P);
    const first = await w.writeDir([file('a.txt', await w.putBlob(Buffer.from('a\n')), 2, 2)]);
    expect(
      await w.casHead(null, 0, { tree: first, nextIno: 3, parent: null, session: null, message: 'init', time: new Date().toISOString() }),
    ).toBe(true);

    // an orphan 45 minutes old: past a (forced) 30 minute grace, too young to be touched when reused
    const data = randomBytes(4096);
    const orphan = await w.putBlob(data);
    const key = w.key(objectRelKey('blobs', orphan));
    const t = new Date(Date.now() - 45 * MIN);
    await utimes(join(root, key), t, t);

    backend.during = async () => {
      // another writer (no memory of the store) reuses the orphan and lands a head naming it
      const other = new ObjectStore(backend, P);
      expect(await other.putBlob(data)).toBe(orphan);
      const cur = (await other.getHead())!;
      const tree = await other.updateDir(cur.record.tree, new Map([['reused.bin', file('reused.bin', orphan, data.length, 3)]]));
      expect(
        await other.casHead(cur.version, cur.ref.generation, {
          tree,
          nextIno: 4,
          parent: cur.hash,
          session: null,
          message: 'landed during gc',
          time: new Date().toISOString(),
        }),
      ).toBe(true);
    };
    const report = await collectGarbage(new ObjectStore(backend, P), { graceMs: 30 * MIN, dryRun: false });
    expect(report.objects.map((o) => o.key)).not.toContain(key);
    expect(await backend.has(key)).toBe(true);
    expect((await fsck(backend)).problems).toBe(0);
  });
});
