// A damaged copy in a pack file that another copy supersedes, under the real daemon (store/local-packs.ts).
// A blob that import-git packed gets a bit flipped; the daemon's read of it fails (NFS3ERR_IO) and its
// /metrics count the pack (mic_store_damaged_packs 1). Then a session lands the same content again: the
// blob is written anew as a loose file, the file reads again, and the gauge drops to 0, because it counts
// only damage the store still feels (before, the superseded copy kept it at 1 for good). `mic fsck` lists
// the copy as superseded, not as damage. And once the loose copy is damaged too, fsck no longer calls it
// superseded: the copy that supersedes must match its hash (before, any readable copy did).
import { afterAll, describe, expect, it } from 'vitest';
import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startDaemon, runMic, type Daemon } from '../lib/daemon.js';
import { apiCaller } from '../lib/api-call.js';
import { NfsStatus, Nfs3Client } from '../lib/nfs3-client.js';
import { tempDir } from '../session/helpers.js';
import { git } from './repo.js';
import { damagedGauge, locate, packsOf } from './packs.js';

const P = 'acme/superseded';

function flip(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0x10;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

async function readStatus(c: Nfs3Client, root: Buffer, name: string): Promise<number> {
  const l = await c.lookup(root, name);
  expect(l.status, `LOOKUP ${name}`).toBe(NfsStatus.OK);
  return (await c.read(l.fh!, 0, 1 << 20)).status;
}

describe('a damaged packed copy that another copy supersedes', () => {
  let d: Daemon | undefined;
  afterAll(async () => {
    await d?.stop('SIGTERM', { cleanup: true });
  });

  it('leaves mic_store_damaged_packs once the object is written again; fsck calls it superseded only while the other copy is sound', async () => {
    const root = await tempDir('micfs-superseded-');
    const dataDir = join(root, 'data');
    const repo = join(root, 'repo');
    git(root, 'init', '-q', '-b', 'main', repo);
    const content = 'packed, damaged, written again\n'.repeat(40);
    writeFileSync(join(repo, 'a.txt'), content);
    writeFileSync(join(repo, 'b.txt'), 'left alone\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'first');
    expect((await runMic(['project', 'import-git', P, repo, '--data-dir', dataDir])).code).toBe(0);
    const hash = createHash('sha256').update(content).digest('hex');
    const key = `projects/${P}/blobs/${hash.slice(0, 2)}/${hash}`;
    const pack = [...packsOf(dataDir)].find((p) => locate(p, key))!;
    expect(pack).toBeDefined();
    const at = locate(pack, key)!;
    flip(pack, at.offset + Math.floor(at.length / 2));

    d = await startDaemon({ dataDir, env: { MIC_API_PORT: '0' } });
    const s = await d.startSession(P, 'read the damaged file');
    const c = await Nfs3Client.connect(d.port);
    try {
      const fsRoot = await c.mountRoot(s.export);
      expect(await readStatus(c, fsRoot, 'a.txt')).toBe(NfsStatus.IO);
      expect(await readStatus(c, fsRoot, 'b.txt')).toBe(NfsStatus.OK);
      expect(await damagedGauge(dataDir)).toBe(1);

      // the same content lands again (another session): the blob is written anew, loose
      const a = apiCaller(dataDir);
      const id = (await a.call('POST', '/api/sessions/start', { project_id: P, goal: 'write it again' })).session.session_id;
      await a.call('POST', `/api/sessions/${id}/files`, { files: [{ path: 'copy.txt', change_type: 'added', content }] });
      await a.call('POST', `/api/sessions/${id}/land`, {});
      expect(await readStatus(c, fsRoot, 'a.txt')).toBe(NfsStatus.OK);
      expect(await damagedGauge(dataDir)).toBe(0);
    } finally {
      await c.close();
    }
    const fsck = await d.mic(['fsck', '--json']);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    expect(JSON.parse(fsck.stdout)).toMatchObject({ problems: 0, damaged_packs: [], superseded_copies: [{ path: pack, key }] });

    // the copy that superseded it is damaged too: nothing sound is left of the object
    await d.stop('SIGTERM', { cleanup: false });
    const loose = join(dataDir, 'objects', key);
    flip(loose, 20);
    const bad = await runMic(['fsck', '--json', '--data-dir', dataDir]);
    expect(bad.code).toBe(1);
    const run = JSON.parse(bad.stdout) as { damaged_packs: { path: string; objects: string[] }[]; superseded_copies: unknown[] };
    expect(run.superseded_copies).toEqual([]);
    expect(run.damaged_packs.flatMap((p) => p.objects.map((o) => [p.path, o]))).toEqual([[pack, key]]);
  }, 90_000);
});
