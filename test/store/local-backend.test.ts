import { describe, expect, it } from 'vitest';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { LocalBackend, localRefVersion } from '../../src/store/local-backend.js';
import { InvalidKeyError } from '../../src/store/errors.js';
import { allFiles, tempDir } from './helpers.js';

describe('LocalBackend objects', () => {
  it('puts, gets, overwrites, deletes; missing keys read as null', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root);
    expect(await b.get('a/b/c')).toBeNull();
    expect(await b.has('a/b/c')).toBe(false);
    await b.put('a/b/c', Buffer.from('one'));
    expect((await b.get('a/b/c'))!.toString()).toBe('one');
    expect(await b.has('a/b/c')).toBe(true);
    expect(await readFile(join(root, 'a/b/c'), 'utf8')).toBe('one');
    await b.put('a/b/c', Buffer.from('two'));
    expect((await b.get('a/b/c'))!.toString()).toBe('two');
    expect(await b.has('a/b')).toBe(false); // a directory is not an object
    expect(await b.get('a/b')).toBeNull();
    await b.delete('a/b/c');
    await b.delete('a/b/c'); // idempotent
    expect(await b.get('a/b/c')).toBeNull();
  });

  it('leaves no temp files behind', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root);
    await Promise.all(Array.from({ length: 20 }, (_, i) => b.put(`x/${i % 3}/k${i}`, Buffer.alloc(1000, i))));
    await b.casRef('ref', Buffer.from('r1'), null);
    const files = (await allFiles(root)).sort();
    expect(files).toHaveLength(21);
    expect(files.filter((f) => f.includes('~'))).toEqual([]);
  });

  it('rejects keys that escape or collide with internal files', async () => {
    const b = new LocalBackend(await tempDir());
    for (const bad of ['', '/abs', '../x', 'a/../b', 'a//b', 'a/./b', 'a/', 'x~lock', 'a\\b', 'nul\0']) {
      await expect(b.put(bad, Buffer.from('x')), bad).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(b.get(bad), bad).rejects.toBeInstanceOf(InvalidKeyError);
    }
    await b.put('org/na..me/ok', Buffer.from('x')); // ".." inside a segment is just a name
    expect(await b.has('org/na..me/ok')).toBe(true);
  });

  it('lists recursively by string prefix, in key order, with sizes', async () => {
    const b = new LocalBackend(await tempDir());
    const keys = ['p/a.x', 'p/a/b', 'p/a/c/d', 'p/ab', 'q/z'];
    for (const k of keys) await b.put(k, Buffer.from(k));
    const list = async (prefix: string) => {
      const out = [];
      for await (const it of b.list(prefix)) out.push(it);
      return out;
    };
    expect((await list('')).map((x) => x.key)).toEqual(keys);
    expect((await list('p/')).map((x) => x.key)).toEqual(['p/a.x', 'p/a/b', 'p/a/c/d', 'p/ab']);
    expect((await list('p/a/')).map((x) => x.key)).toEqual(['p/a/b', 'p/a/c/d']);
    expect((await list('p/a')).map((x) => x.key)).toEqual(['p/a.x', 'p/a/b', 'p/a/c/d', 'p/ab']);
    expect(await list('nope/')).toEqual([]);
    const [first] = await list('p/a/c');
    expect(first!.size).toBe('p/a/c/d'.length);
    expect(first!.mtimeMs).toBeGreaterThan(0);
  });
});

describe('LocalBackend refs', () => {
  it('compare-and-swap semantics', async () => {
    const b = new LocalBackend(await tempDir());
    expect(await b.getRef('r/head')).toBeNull();
    expect(await b.casRef('r/head', Buffer.from('v1'), 'bogus')).toBe(false);
    expect(await b.casRef('r/head', Buffer.from('v1'), null)).toBe(true);
    expect(await b.casRef('r/head', Buffer.from('again'), null)).toBe(false);
    const r1 = (await b.getRef('r/head'))!;
    expect(r1.data.toString()).toBe('v1');
    expect(r1.version).toBe(localRefVersion(Buffer.from('v1')));
    expect(await b.casRef('r/head', Buffer.from('v2'), r1.version)).toBe(true);
    expect(await b.casRef('r/head', Buffer.from('v3'), r1.version)).toBe(false); // stale version
    expect((await b.getRef('r/head'))!.data.toString()).toBe('v2');
  });

  it('concurrent CAS with the same expected version: exactly one wins (shared and separate instances)', async () => {
    const root = await tempDir();
    const a = new LocalBackend(root);
    const c = new LocalBackend(root); // separate instance: only the lock file protects it
    await a.casRef('ref', Buffer.from('base'), null);
    for (let round = 0; round < 5; round++) {
      const { version } = (await a.getRef('ref'))!;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : c).casRef('ref', Buffer.from(`r${round}-w${i}`), version)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await a.getRef('ref'))!.data.toString()).toBe(`r${round}-w${winner}`);
    }
  });

  it('recovers a lock left by a dead process', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root, { lockTimeoutMs: 2000 });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await mkdir(join(root, 'p'), { recursive: true });
    await writeFile(join(root, 'p/ref~lock'), JSON.stringify({ pid: Number(dead), host: hostname(), token: 'x', time: Date.now() }));
    const t0 = Date.now();
    expect(await b.casRef('p/ref', Buffer.from('v'), null)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await allFiles(root)).filter((f) => f.includes('~'))).toEqual([]);
  });

  it('waits on a live lock, and breaks it once it is older than the stale limit', async () => {
    const root = await tempDir();
    const lock = join(root, 'ref~lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'held', time: Date.now() }));
    const impatient = new LocalBackend(root, { lockTimeoutMs: 150, lockStaleMs: 60_000 });
    await expect(impatient.casRef('ref', Buffer.from('v'), null)).rejects.toThrow(/timed out/);
    expect(await impatient.getRef('ref')).toBeNull();
    expect(JSON.parse(await readFile(lock, 'utf8')).token).toBe('held'); // not stolen

    const old = (Date.now() - 20_000) / 1000;
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'old', time: Date.now() - 20_000 }));
    await utimes(lock, old, old);
    const b = new LocalBackend(root, { lockStaleMs: 10_000, lockTimeoutMs: 2000 });
    expect(await b.casRef('ref', Buffer.from('v'), null)).toBe(true);
    await expect(stat(lock)).rejects.toThrow();
  });
});
