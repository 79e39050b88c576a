// Issue 8 items 15 and 18: the handle secret and node id are never used torn, and the data
// directory is its owner's alone (0700, files 0600) whatever the umask.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, startDaemon, writeTree, type Daemon } from '../lib/daemon.js';
import { NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { mountFrom } from './wire.js';

let d: Daemon | null = null;
afterEach(async () => {
  await d?.stop('SIGTERM', { cleanup: true });
  d = null;
});

/** A handle for the same export and inode as `fh`, with its MAC made under `key`. */
function forge(fh: Buffer, key: Buffer): Buffer {
  const f = Buffer.from(fh);
  createHmac('sha256', key).update(f.subarray(0, 17)).digest().copy(f, 17, 0, 16);
  return f;
}

describe('handle secret and node id', () => {
  for (const [what, torn] of [
    ['empty', Buffer.alloc(0)],
    ['short', Buffer.from('0123456789')],
  ] as const) {
    it(`an ${what} secret file (torn first write) is replaced, and handles forged with it are refused`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'mic-data-'));
      writeFileSync(join(dataDir, 'secret'), torn);
      d = await startDaemon({ dataDir });
      await d.initProject('trust/app', { 'README.md': 'hi\n' });
      const s = await d.startSession('trust/app', 'secret');
      const secret = readFileSync(join(dataDir, 'secret'));
      expect(secret.length).toBe(32);
      expect(statSync(join(dataDir, 'secret')).mode & 0o777).toBe(0o600);
      expect(d.logLines((l) => String(l.msg).startsWith('handle secret was torn')).length).toBe(1);
      const { c, root } = await mountFrom(d.port, s.export);
      expect((await c.getattr(root)).status).toBe(NfsStatus.OK);
      expect((await c.getattr(forge(root, torn))).status).toBe(NfsStatus.BADHANDLE);
      // the replaced secret is kept: handles survive a restart
      await d.restart();
      expect(readFileSync(join(dataDir, 'secret')).equals(secret)).toBe(true);
      const again = await mountFrom(d.port, s.export);
      expect((await again.c.getattr(root)).status).toBe(NfsStatus.OK);
      await c.close();
      await again.c.close();
    });
  }

  it('an empty node-id file is replaced by a whole one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mic-data-'));
    writeFileSync(join(dataDir, 'node-id'), '');
    d = await startDaemon({ dataDir });
    await d.initProject('trust/app', { 'README.md': 'hi\n' });
    const s = await d.startSession('trust/app', 'node id');
    const { c, root } = await mountFrom(d.port, s.export);
    expect((await c.getattr(root)).status).toBe(NfsStatus.OK);
    expect(readFileSync(join(dataDir, 'node-id'), 'utf8')).toMatch(/^[A-Za-z0-9.-]*-[0-9a-f]{8}\n$/);
    await c.close();
  });
});

/** Every path under `dir` with its permission bits. */
function modes(dir: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push({ path: p, dir: e.isDirectory(), mode: statSync(p).mode & 0o777 });
    if (e.isDirectory()) out.push(...modes(p));
  }
  return out;
}

describe('data directory permissions', () => {
  it('with umask 000, every directory is 0700 and every file 0600', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mic-data-'));
    chmodSync(dataDir, 0o777); // an existing data dir open to all is closed too
    const umask0 = (args: string[]): string =>
      execFileSync('sh', ['-c', 'umask 000; exec "$@"', 'sh', process.execPath, CLI, ...args, '--data-dir', dataDir], { encoding: 'utf8' });
    const src = writeTree({ 'README.md': 'hello\n', 'lib/a.txt': 'a\n' });
    try {
      umask0(['project', 'init', 'trust/app', '--from', src]);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
    const s = JSON.parse(umask0(['session', 'start', '--project', 'trust/app', '--goal', 'modes', '--json'])).session as { export: string };
    d = await startDaemon({ dataDir, wrap: ['sh', '-c', 'umask 000; exec "$@"', 'sh'] });
    const { c, root } = await mountFrom(d.port, s.export);
    const made = await c.create(root, 'new.txt', { kind: 'unchecked', attrs: { mode: 0o666 } });
    expect((await c.write(made.fh!, 0, Buffer.from('data\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect((await c.mkdir(root, 'dir', { mode: 0o777 })).status).toBe(NfsStatus.OK);
    await c.close();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const all = modes(dataDir);
    expect(all.length).toBeGreaterThan(5);
    expect(all.filter((e) => e.path.endsWith('secret') || e.path.endsWith('node-id')).length).toBe(2);
    expect(all.filter((e) => e.dir && e.mode !== 0o700)).toEqual([]);
    expect(all.filter((e) => !e.dir && e.mode !== 0o600)).toEqual([]);
  });
});
