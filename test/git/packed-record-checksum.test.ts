// A session record that import-git packed (store/local-packs.ts) carries a CRC-32 in its pack's index: a bit
// flipped in its bytes is a clear error naming the pack (`mic session show` fails), never a wrong record
// served as if it were right. The record is plain JSON, so before checksums a flip inside a string went
// unnoticed. Real packs from the real import of a real git repository, damaged on disk. A damaged packed copy
// that a newer loose copy has replaced (the record reads fine) is reported by fsck as superseded, not damage.
import { describe, expect, it } from 'vitest';
import { closeSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMic } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';
import { flipByte } from '../store/helpers.js';
import { git } from './repo.js';
import { LocalBackend } from '../../src/store/local-backend.js';
import { carriesCrc, INDEX_MAGIC_CRC, PACKS_DIR, TRAILER_BYTES } from '../../src/store/pack-index.js';

const P = 'acme/crc';

/** Every key of a pack with its offset and length (its index, laid out as local-packs.ts says). */
function entries(path: string): { key: string; offset: number; length: number }[] {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const t = Buffer.alloc(TRAILER_BYTES);
    readSync(fd, t, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    expect(t.toString('latin1', 12)).toBe(INDEX_MAGIC_CRC); // written with checksums
    const at = Number(t.readBigUInt64BE(0));
    const idx = Buffer.alloc(size - TRAILER_BYTES - at);
    readSync(fd, idx, 0, idx.length, at);
    const out: { key: string; offset: number; length: number }[] = [];
    for (let o = 0; o < idx.length;) {
      const n = idx.readUInt16BE(o);
      const key = idx.toString('utf8', o + 2, o + 2 + n);
      out.push({ key, offset: idx.readUIntBE(o + 2 + n, 6), length: idx.readUInt32BE(o + 8 + n) });
      o += 12 + n + (carriesCrc(key) ? 4 : 0);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A data dir whose two session records (and their index entries) import-git packed, with checksums. */
async function importedTwice() {
  const root = await tempDir('micfs-crc-');
  const dataDir = join(root, 'data');
  const repo = join(root, 'repo');
  git(root, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'a.txt'), 'a\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'first commit, checksum-me');
  writeFileSync(join(repo, 'b.txt'), 'b\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'second commit, left alone');
  expect((await runMic(['project', 'import-git', P, repo, '--data-dir', dataDir])).code).toBe(0);
  const dir = join(dataDir, 'objects', PACKS_DIR);
  const packs = readdirSync(dir)
    .filter((n) => n.endsWith('.pack'))
    .map((n) => join(dir, n));
  return { dataDir, packs };
}

describe('a packed session record with a flipped bit', () => {
  it('fails with an error naming its pack; the other records still read', async () => {
    const { dataDir, packs } = await importedTwice();
    const found = packs.flatMap((path) =>
      entries(path)
        .filter((e) => /\/sessions\/[^/]+\/metadata\.json$/.test(e.key))
        .map((e) => {
          const b = Buffer.alloc(e.length);
          const fd = openSync(path, 'r');
          readSync(fd, b, 0, e.length, e.offset);
          closeSync(fd);
          return { ...e, path, record: JSON.parse(b.toString('utf8')), at: b.indexOf('checksum-me') };
        }),
    );
    expect(found).toHaveLength(2);
    const bad = found.find((f) => f.at >= 0)!;
    const good = found.find((f) => f.at < 0)!;
    const id = (f: (typeof found)[number]) => f.record.session_id as string;

    const before = await runMic(['session', 'show', id(bad), '--json', '--data-dir', dataDir]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain('checksum-me');

    // "c" becomes "b": still valid JSON, a record that says something it never said
    flipByte(bad.path, bad.offset + bad.at);

    const after = await runMic(['session', 'show', id(bad), '--json', '--data-dir', dataDir]);
    expect(after.code).not.toBe(0);
    expect(after.stdout).not.toContain('bhecksum-me');
    expect(after.stderr + after.stdout).toContain(bad.path);
    expect(after.stderr + after.stdout).toMatch(/checksum mismatch/);
    const other = await runMic(['session', 'show', id(good), '--json', '--data-dir', dataDir]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toContain('left alone');
  }, 60_000);

  it('is found by mic fsck, which names the pack and the object, as are flipped index entries nothing reads', async () => {
    const { dataDir, packs } = await importedTwice();
    expect((await runMic(['fsck', '--data-dir', dataDir])).code).toBe(0);
    const all = packs.flatMap((path) => entries(path).map((e) => ({ ...e, path })));
    // a session record, and an index entry (index/sessions/<id>: read only to find a session's project)
    const record = all.find((e) => /\/sessions\/[^/]+\/metadata\.json$/.test(e.key))!;
    const index = all.find((e) => e.key.startsWith('index/sessions/') && !record.key.includes(e.key.slice('index/sessions/'.length)))!;
    expect(record && index).toBeTruthy();
    flipByte(record.path, record.offset + 3);
    flipByte(index.path, index.offset + index.length - 2);

    const r = await runMic(['fsck', '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(1);
    const run = JSON.parse(r.stdout) as { damaged_packs: { path: string; reason: string; objects: string[] }[]; problems: number };
    const objects = run.damaged_packs.flatMap((d) => d.objects.map((o) => [d.path, o]));
    expect(objects).toEqual(
      expect.arrayContaining([
        [record.path, record.key],
        [index.path, index.key],
      ]),
    );
    expect(run.damaged_packs.map((d) => d.reason).join('\n')).toMatch(/checksum mismatch/);
    const text = await runMic(['fsck', '--data-dir', dataDir]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`damaged pack ${record.path}`);
  }, 60_000);

  it('mic fsck reports a damaged packed copy that a newer loose copy replaced as superseded, and real damage still as damage', async () => {
    const { dataDir, packs } = await importedTwice();
    const all = packs.flatMap((path) => entries(path).map((e) => ({ ...e, path })));
    const record = all.find((e) => /\/sessions\/[^/]+\/metadata\.json$/.test(e.key))!;
    const index = all.find((e) => e.key.startsWith('index/sessions/') && !record.key.includes(e.key.slice('index/sessions/'.length)))!;
    const id = record.key.split('/sessions/')[1]!.split('/')[0]!;
    // the record is written again (a loose file, which wins over its packed copy), then its packed copy is damaged
    const objects = new LocalBackend(join(dataDir, 'objects'));
    const bytes = (await objects.get(record.key))!;
    await objects.put(record.key, bytes);
    flipByte(record.path, record.offset + 3);

    const shown = await runMic(['session', 'show', id, '--json', '--data-dir', dataDir]);
    expect(shown.code, shown.stderr).toBe(0);
    const quiet = await runMic(['fsck', '--json', '--data-dir', dataDir]);
    expect(quiet.code, quiet.stdout + quiet.stderr).toBe(0);
    const q = JSON.parse(quiet.stdout) as {
      damaged_packs: unknown[];
      superseded_copies: { path: string; key: string }[];
      problems: number;
    };
    expect(q).toMatchObject({ problems: 0, damaged_packs: [], superseded_copies: [{ path: record.path, key: record.key }] });
    const text = await runMic(['fsck', '--data-dir', dataDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`superseded: ${record.key} in ${record.path}`);
    expect(text.stdout).not.toContain('damaged pack');

    // an entry nothing replaced, damaged too: that one is damage
    flipByte(index.path, index.offset + index.length - 2);
    const loud = await runMic(['fsck', '--json', '--data-dir', dataDir]);
    expect(loud.code).toBe(1);
    const l = JSON.parse(loud.stdout) as { damaged_packs: { path: string; objects: string[] }[]; superseded_copies: unknown[] };
    expect(l.damaged_packs.flatMap((d) => d.objects.map((o) => [d.path, o]))).toEqual([[index.path, index.key]]);
    expect(l.superseded_copies).toEqual([{ path: record.path, key: record.key }]);
  }, 60_000);
});
