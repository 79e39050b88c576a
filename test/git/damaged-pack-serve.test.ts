// A damaged pack file under the real daemon (store/local-packs.ts): a project imported from git in two steps
// (two sets of pack files), a session started from the imported head and read over NFS. The older packs are
// damaged twice: a bit flipped in one object while the daemon has them open, then truncated to nothing (as
// after a crash) and the daemon restarted. Each time only the files whose objects are in the damaged pack
// fail (NFS3ERR_IO), everything else reads, the daemon stays up and logs the pack once (and each object it
// cannot read once, however often READ is retried), its /metrics count it (mic_store_damaged_packs), and
// `mic fsck` names it.
import { afterAll, describe, expect, it } from 'vitest';
import { closeSync, openSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startDaemon, runMic, type Daemon } from '../lib/daemon.js';
import { NfsStatus, Nfs3Client } from '../lib/nfs3-client.js';
import { tempDir } from '../session/helpers.js';
import { git } from './repo.js';
import { damagedGauge, locate, packsOf } from './packs.js';

const P = 'acme/packs';
async function readFile(c: Nfs3Client, root: Buffer, name: string): Promise<{ status: number; data?: string }> {
  const l = await c.lookup(root, name);
  expect(l.status, `LOOKUP ${name}`).toBe(NfsStatus.OK);
  const r = await c.read(l.fh!, 0, 1 << 20);
  return r.status === NfsStatus.OK ? { status: r.status, data: r.data!.toString('utf8') } : { status: r.status };
}

describe('a damaged pack file under the daemon', () => {
  let d: Daemon | undefined;
  afterAll(async () => {
    await d?.stop('SIGTERM', { cleanup: true });
  });

  it('only the files in the damaged pack fail over NFS; the rest reads; logged once; mic fsck names it', async () => {
    const root = await tempDir('micfs-damaged-');
    const dataDir = join(root, 'data');
    const repo = join(root, 'repo');
    git(root, 'init', '-q', '-b', 'main', repo);
    const old = { 'old-a.txt': 'first import, file a\n'.repeat(50), 'old-b.txt': 'first import, file b\n'.repeat(50) };
    for (const [n, c] of Object.entries(old)) writeFileSync(join(repo, n), c);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'first');
    expect((await runMic(['project', 'import-git', P, repo, '--data-dir', dataDir])).code).toBe(0);
    const firstPacks = packsOf(dataDir);
    expect(firstPacks.size).toBeGreaterThan(0);
    writeFileSync(join(repo, 'new.txt'), 'second import\n'.repeat(50));
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'second');
    expect((await runMic(['project', 'import-git', P, repo, '--data-dir', dataDir])).code).toBe(0);
    expect([...packsOf(dataDir)].filter((p) => !firstPacks.has(p)).length).toBeGreaterThan(0);

    d = await startDaemon({ dataDir, env: { MIC_API_PORT: '0' } });
    const s = await d.startSession(P, 'read the imported head');
    let c = await Nfs3Client.connect(d.port);
    try {
      let fsRoot = await c.mountRoot(s.export);
      for (const [n, content] of Object.entries(old)) expect(await readFile(c, fsRoot, n)).toEqual({ status: NfsStatus.OK, data: content });
      await c.umnt(s.export);

      // 1. a bit flips in old-a.txt's bytes while the daemon has the pack open
      const hashA = createHash('sha256').update(old['old-a.txt']).digest('hex');
      const keyA = `projects/${P}/blobs/${hashA.slice(0, 2)}/${hashA}`;
      const packA = [...firstPacks].find((p) => locate(p, keyA))!;
      expect(packA).toBeDefined();
      const at = locate(packA, keyA)!;
      const fd = openSync(packA, 'r+');
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, at.offset + Math.floor(at.length / 2));
      b[0] ^= 0x10;
      writeSync(fd, b, 0, 1, at.offset + Math.floor(at.length / 2));
      closeSync(fd);
      await d.restart({ signal: 'SIGKILL' }); // the daemon's RAM caches hold the good bytes: start cold
      await c.close();
      c = await Nfs3Client.connect(d.port);
      fsRoot = await c.mountRoot(s.export);
      for (let i = 0; i < 3; i++) {
        expect((await readFile(c, fsRoot, 'old-a.txt')).status).toBe(NfsStatus.IO);
        expect(await readFile(c, fsRoot, 'old-b.txt')).toEqual({ status: NfsStatus.OK, data: old['old-b.txt'] });
        expect(await readFile(c, fsRoot, 'new.txt')).toEqual({ status: NfsStatus.OK, data: 'second import\n'.repeat(50) });
      }
      // each failed READ answers NFS3ERR_IO, but the damaged object is logged once (base-read.ts), not per READ
      const readFailed = (h: string) => d!.logLines((l) => l.blob === h && /read of a base file failed/.test(String(l.msg)));
      expect(readFailed(hashA)).toHaveLength(1);
      const warned = () => d!.logLines((l) => typeof l.msg === 'string' && /damaged pack file/.test(l.msg));
      expect(warned().map((l) => l.pack)).toEqual([packA]);
      expect(String(warned()[0]!.reason)).toContain(keyA);
      expect(await damagedGauge(dataDir)).toBe(1);
      const fsck1 = await d.mic(['fsck', '--project', P]);
      expect(fsck1.code).toBe(1);
      expect(fsck1.stdout).toContain(`corrupt ${keyA}`);
      expect(fsck1.stdout).toContain(`damaged pack ${packA}`);

      // 2. the older packs are found empty after a crash; the daemon starts again
      for (const p of firstPacks) truncateSync(p, 0);
      await d.restart({ signal: 'SIGKILL' });
      await c.close();
      c = await Nfs3Client.connect(d.port);
      fsRoot = await c.mountRoot(s.export);
      for (let i = 0; i < 2; i++) {
        expect((await readFile(c, fsRoot, 'old-a.txt')).status).toBe(NfsStatus.IO);
        expect((await readFile(c, fsRoot, 'old-b.txt')).status).toBe(NfsStatus.IO);
        expect(await readFile(c, fsRoot, 'new.txt')).toEqual({ status: NfsStatus.OK, data: 'second import\n'.repeat(50) });
      }
      // the new process logs each object it cannot read once
      expect(readFailed(hashA)).toHaveLength(2);
      const hashB = createHash('sha256').update(old['old-b.txt']).digest('hex');
      expect(readFailed(hashB)).toHaveLength(1);
      // the session takes new work and lands; the daemon is up and says once which packs it left out
      const w = await c.create(fsRoot, 'after.txt', { kind: 'unchecked', attrs: { mode: 0o644 } });
      expect(w.status).toBe(NfsStatus.OK);
      expect((await c.write(w.fh!, 0, Buffer.from('written after the damage\n'))).status).toBe(NfsStatus.OK);
      const sinceRestart = warned().filter((l) => !String(l.reason).includes(keyA));
      expect(sinceRestart.map((l) => l.pack).sort()).toEqual([...firstPacks].sort());
      expect(sinceRestart.every((l) => l.reason === 'pack too short')).toBe(true);
      expect(await damagedGauge(dataDir)).toBe(firstPacks.size);
      const fsck2 = await d.mic(['fsck', '--project', P, '--json']);
      expect(fsck2.code).toBe(1);
      const run = JSON.parse(fsck2.stdout);
      expect(run.damaged_packs.map((x: { path: string }) => x.path).sort()).toEqual([...firstPacks].sort());
      expect(JSON.stringify(run.projects[0].problems)).toContain('damaged pack file(s) may hold it');
      expect((await c.null()) === undefined).toBe(true);
    } finally {
      await c.close();
    }
  }, 120_000);
});
