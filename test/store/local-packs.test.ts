// Pack files of a local data directory (store/local-packs.ts): LocalBackend serves packed objects through
// get, stat, has, touch, list and delete as if they were files; a loose file wins; deletions (gc) mark
// objects dead and remove a pack once nothing in it lives; another instance (another process) sees new
// packs and deletions at once; a damaged pack is left out (test/store/damaged-packs.test.ts).
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend } from '../../src/store/local-backend.js';
import { PackWriter } from '../../src/store/local-pack-writer.js';
import { PACKS_DIR } from '../../src/store/pack-index.js';
import { packTestBlob, tempDir, writePack } from './helpers.js';

const h = (c: string) => c.repeat(64);
const blob = packTestBlob;
const pack = writePack;

async function collect(b: LocalBackend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const it of b.list(prefix)) out.push(it.key);
  return out;
}

describe('LocalBackend over pack files', () => {
  it('serves packed objects like files, loose first, in list order', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root);
    await b.put(blob('1'), Buffer.from('loose one'));
    await b.put('projects/a/b/sessions/s2/metadata.json', Buffer.from('{"v":"loose"}'));
    expect(await b.get(blob('2'))).toBeNull(); // seen as absent before the pack exists...
    pack(root, [
      [blob('2'), 'packed two'],
      [blob('3'), 'packed three'],
      [`projects/a/b/trees/44/${h('4')}`, 'tree four'],
      ['projects/a/b/sessions/s1/metadata.json', '{"v":"packed"}'],
      ['projects/a/b/sessions/s2/metadata.json', '{"v":"stale"}'],
      ['index/sessions/s1', '{"project":"a/b"}'],
    ]);
    expect((await b.get(blob('2')))!.toString()).toBe('packed two'); // ...and present at once after
    expect((await b.get(blob('3')))!.toString()).toBe('packed three');
    expect(b.getPackedSync(blob('3'))!.toString()).toBe('packed three');
    expect((await b.get('projects/a/b/sessions/s2/metadata.json'))!.toString()).toBe('{"v":"loose"}');
    expect((await b.get('index/sessions/s1'))!.toString()).toBe('{"project":"a/b"}');
    expect(await b.has(blob('2'))).toBe(true);
    expect(await b.stat(blob('3'))).toEqual({ size: 12, mtimeMs: expect.any(Number) });
    expect(await b.get(blob('5'))).toBeNull();
    expect(await b.stat(blob('5'))).toBeNull();

    expect(await collect(b, 'projects/a/b/')).toEqual([
      blob('1'),
      blob('2'),
      blob('3'),
      'projects/a/b/sessions/s1/metadata.json',
      'projects/a/b/sessions/s2/metadata.json',
      `projects/a/b/trees/44/${h('4')}`,
    ]);
    expect(await collect(b, 'projects/a/b/blobs/3')).toEqual([blob('3')]);
    expect(await collect(b, 'index/')).toEqual(['index/sessions/s1']);
    expect(await collect(b, '')).toContain(blob('2'));
    expect((await collect(b, '')).some((k) => k.includes('~'))).toBe(false);
  });

  it('touch moves the pack; delete marks dead (seen by another instance), the last one removes the pack', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root);
    const other = new LocalBackend(root);
    const path = pack(root, [
      [blob('2'), 'two'],
      [blob('3'), 'three'],
    ]);
    expect((await other.get(blob('3')))!.toString()).toBe('three');
    const old = new Date(Date.now() - 3600_000);
    const { utimesSync } = await import('node:fs');
    utimesSync(path, old, old);
    await b.touch(blob('2'));
    expect(statSync(path).mtimeMs).toBeGreaterThan(old.getTime() + 1000);
    await expect(b.touch(blob('5'))).rejects.toThrow(/ENOENT/);

    await b.delete(blob('3'));
    expect(await b.get(blob('3'))).toBeNull();
    expect(await other.get(blob('3'))).toBeNull(); // another process's view follows the directory
    expect(await other.has(blob('3'))).toBe(false);
    expect(await collect(other, 'projects/')).toEqual([blob('2')]);
    expect(
      readFileSync(
        join(
          root,
          PACKS_DIR,
          readdirSync(join(root, PACKS_DIR)).find((n) => n.endsWith('.dead'))!,
        ),
        'utf8',
      ),
    ).toBe(`${blob('3')}\n`);
    await b.delete(blob('3')); // idempotent
    await other.delete(blob('2'));
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(join(root, PACKS_DIR))).toEqual([]);
    expect(await b.get(blob('2'))).toBeNull();
    expect(await collect(b, '')).toEqual([]);
  });

  it('an unfinished pack is invisible and the next writer removes it once its process is gone; a damaged one is an error', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root);
    const w = new PackWriter(root);
    w.append(blob('2'), Buffer.from('two'));
    expect(await b.get(blob('2'))).toBeNull();
    // a temporary pack of a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max)
    const dead = join(root, PACKS_DIR, 'x.pack.tmp-4194305-1');
    writeFileSync(dead, 'half');
    pack(root, [[blob('3'), 'three']]);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(w.tmpPath)).toBe(true); // this process's own writer is alive
    w.abort();
    expect(existsSync(w.tmpPath)).toBe(false);

    // a damaged pack is left out (its objects missing), not an error of every read (damaged-packs.test.ts)
    const p = pack(root, [[blob('4'), 'four']]);
    truncateSync(p, statSync(p).size - 3);
    const fresh = new LocalBackend(root);
    expect(await fresh.get(blob('4'))).toBeNull();
    expect((await fresh.get(blob('3')))!.toString()).toBe('three');
    expect(fresh.damagedPacks()).toEqual([{ path: p, reason: 'pack trailer damaged', whole: true, objects: [] }]);
  });
});
