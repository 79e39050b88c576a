// export-git's reader of a local data directory (git/sync-read.ts): packed and loose objects as LocalBackend
// serves them (a loose document wins over its packed copy), the packs looked for once (a snapshot), and
// close() gives their descriptors back (mic serve --export-git runs one export per landing).
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { LocalBackend } from '../../src/store/local-backend.js';
import { syncReads } from '../../src/git/sync-read.js';
import { packTestBlob, tempDir, writePack } from '../store/helpers.js';

const blob = packTestBlob;
const pack = writePack;
const openFds = () => readdirSync('/proc/self/fd').length;

describe('syncReads', () => {
  it('reads packed and loose objects, loose documents first; close() releases the packs', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root);
    await b.put(blob('1'), Buffer.from('loose one'));
    await b.put('projects/a/b/sessions/s2/metadata.json', Buffer.from('{"v":"loose"}'));
    pack(root, [
      [blob('2'), 'packed two'],
      ['projects/a/b/sessions/s1/metadata.json', '{"v":"packed"}'],
      ['projects/a/b/sessions/s2/metadata.json', '{"v":"stale"}'],
    ]);
    pack(root, [[blob('3'), 'packed three']]);
    const before = openFds();
    const r = syncReads(b)!;
    expect((await r.get(blob('1')))!.toString()).toBe('loose one');
    expect((await r.get(blob('2')))!.toString()).toBe('packed two');
    expect((await r.get(blob('3')))!.toString()).toBe('packed three');
    expect((await r.get('projects/a/b/sessions/s1/metadata.json'))!.toString()).toBe('{"v":"packed"}');
    expect((await r.get('projects/a/b/sessions/s2/metadata.json'))!.toString()).toBe('{"v":"loose"}');
    expect(await r.get(blob('4'))).toBeNull();
    expect(openFds()).toBe(before + 2); // one descriptor per pack, opened once
    for (let i = 0; i < 50; i++) await r.get(blob(String((i % 3) + 1)));
    expect(openFds()).toBe(before + 2);
    r.close();
    expect(openFds()).toBe(before);
    // a loose object written later is read; after close() the packs are looked for again
    await b.put(blob('5'), Buffer.from('loose five'));
    expect((await r.get(blob('5')))!.toString()).toBe('loose five');
    expect((await r.get(blob('2')))!.toString()).toBe('packed two');
    r.close();
    expect(openFds()).toBe(before);
  });

  it('skips a packed copy reported corrupt (a damaged pack) and serves the loose one', async () => {
    const root = await tempDir();
    const b = new LocalBackend(root);
    pack(root, [[blob('6'), 'damaged six']]);
    await b.put(blob('6'), Buffer.from('good six'));
    const r = syncReads(b)!;
    expect((await r.get(blob('6')))!.toString()).toBe('damaged six'); // packed first (no failed open)
    expect(r.reportCorrupt!(blob('6'), 'hash mismatch')).toMatch(/damaged pack/);
    expect((await r.get(blob('6')))!.toString()).toBe('good six');
    r.close();
  });
});
