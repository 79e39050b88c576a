// libnfs-utils (user-space NFSv3 client) against the daemon: nfs-ls, nfs-cp upload
// and download (bytes compared), nfs-cat.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { nfsCat, nfsCatRaw, nfsGet, nfsLs, nfsPut, nfsUrl, runTool, type NfsTarget } from '../lib/libnfs.js';

describe.sequential('libnfs-utils against the daemon', () => {
  let d: Daemon;
  let s: SessionInfo;
  let t: NfsTarget;
  let dir: string;
  const big = randomBytes(3 * 1048576 + 12345);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mic-libnfs-'));
    d = await startDaemon();
    await d.initProject('test/libnfs', {
      'README.md': '# libnfs\n',
      'src/main.ts': 'console.log(1);\n',
      'bin/tool.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    });
    s = await d.startSession('test/libnfs', 'libnfs');
    t = { port: d.port, export: s.export };
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('nfs-ls lists the export root with types and sizes', async () => {
    const ls = await nfsLs(t);
    expect(ls.map((e) => e.name).sort()).toEqual(['README.md', 'bin', 'src']);
    const readme = ls.find((e) => e.name === 'README.md')!;
    expect(readme.type).toBe('file');
    expect(readme.size).toBe(9);
    expect(ls.find((e) => e.name === 'src')!.type).toBe('dir');
  });

  it('nfs-ls -R walks subdirectories', async () => {
    const ls = await nfsLs(t, { recursive: true });
    const byName = new Map(ls.map((e) => [e.name, e]));
    expect([...byName.keys()].sort()).toEqual(['README.md', 'bin', 'bin/tool.sh', 'src', 'src/main.ts']);
    expect(byName.get('bin/tool.sh')!.mode).toBe('-rwxr-xr-x');
    expect(byName.get('src/main.ts')!.size).toBe(16);
  });

  it('nfs-cat prints a file', async () => {
    expect((await nfsCat(t, 'README.md')).toString()).toBe('# libnfs\n');
  });

  it('nfs-cat of a missing file fails', async () => {
    const r = await nfsCatRaw(t, 'no-such-file');
    expect(r.code).not.toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  it('nfs-cp uploads a 3 MB file; download and nfs-cat return the same bytes', async () => {
    const src = join(dir, 'up.bin');
    writeFileSync(src, big);
    const up = await nfsPut(t, src, 'up.bin');
    expect(up.code, up.stderr + up.stdout.toString()).toBe(0);
    const ls = await nfsLs(t);
    expect(ls.find((e) => e.name === 'up.bin')?.size).toBe(big.length);
    const dst = join(dir, 'down.bin');
    const down = await nfsGet(t, 'up.bin', dst);
    expect(down.code, down.stderr + down.stdout.toString()).toBe(0);
    const got = readFileSync(dst);
    expect(got.length).toBe(big.length);
    expect(got.equals(big)).toBe(true);
    const cat = await nfsCat(t, 'up.bin');
    expect(createHash('sha256').update(cat).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
  });

  it('nfs-cp downloads a project file byte for byte', async () => {
    const dst = join(dir, 'main.ts');
    const r = await nfsGet(t, 'README.md', dst);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(dst, 'utf8')).toBe('# libnfs\n');
  });

  it('nfs-cp upload onto an existing name fails (exclusive create) and leaves it intact', async () => {
    const src = join(dir, 'small.txt');
    writeFileSync(src, 'other\n');
    const r = await nfsPut(t, src, 'README.md');
    expect(r.code).not.toBe(0);
    expect((await nfsCat(t, 'README.md')).toString()).toBe('# libnfs\n');
  });

  it('an empty file round-trips', async () => {
    const src = join(dir, 'empty');
    writeFileSync(src, '');
    expect((await nfsPut(t, src, 'empty')).code).toBe(0);
    expect((await nfsLs(t)).find((e) => e.name === 'empty')?.size).toBe(0);
    expect((await nfsCat(t, 'empty')).length).toBe(0);
  });

  it('a wrong export path is refused at MOUNT', async () => {
    const r = await runTool('nfs-ls', [nfsUrl({ port: d.port, export: '/exports/sessions/sess-doesnotexist' })]);
    expect(r.code).not.toBe(0);
  });
});
