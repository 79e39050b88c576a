// Data files of a session whose data directory is on tmpfs (/dev/shm), as in `npm run bench:work`, where
// an untar or a git clone creates thousands of files: each new file's data file costs one open(2) (no
// failed open, second open and ftruncate first, no fdatasync of it while empty) and no directory fsync (on
// tmpfs it does nothing); a removed file's data file is unlinked. Traced over the wire in the real daemon with the LD_PRELOAD shim
// (test/lib/fault-shim.c: ftruncate/fsync/fdatasync calls); the content survives a SIGKILL all the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { buildFaultShim } from '../lib/fault-shim.js';

let tmp: string;
let shm: string;
let faults: string;
let d: Daemon;
let client: Nfs3Client;
let root: Buffer;
let exportPath: string;
let filesDir: string;

const traceLog = () => path.join(faults, 'trace.log');
const traced = (): string[] => (fs.existsSync(traceLog()) ? fs.readFileSync(traceLog(), 'utf8').split('\n').filter(Boolean) : []);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mic-shm-files-'));
  shm = fs.mkdtempSync('/dev/shm/mic-shm-files-');
  faults = path.join(tmp, 'faults');
  fs.mkdirSync(faults);
  const shim = buildFaultShim(tmp);
  fs.writeFileSync(path.join(faults, 'trace'), '');
  d = await startDaemon({ dataDir: path.join(shm, 'data'), env: { LD_PRELOAD: shim, MIC_FAULT_DIR: faults } });
  await d.initProject('shm/p', { 'a.txt': 'a\n' });
  const s = await d.startSession('shm/p', 'tmpfs data files');
  exportPath = s.export;
  filesDir = path.join(d.dataDir, 'sessions', s.session_id, 'files');
  client = await Nfs3Client.connect(d.port);
  root = await client.mountRoot(exportPath);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await d?.stop('SIGKILL', { cleanup: false });
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(shm, { recursive: true, force: true });
});

describe('data files on tmpfs', () => {
  it('new files as tar writes them: no directory fsync, no truncate or sync of the new empty data file, content durable across SIGKILL', async () => {
    expect(execFileSync('stat', ['-f', '-c', '%T', d.dataDir], { encoding: 'utf8' }).trim()).toBe('tmpfs');
    fs.rmSync(traceLog(), { force: true });
    const names = Array.from({ length: 20 }, (_, i) => `f${i}.txt`);
    for (const n of names) {
      // what the Linux client sends for tar's open(O_CREAT|O_EXCL), write, close
      const c = await client.create(root, n, { kind: 'exclusive', verf: Buffer.from(n.padEnd(8, '-').slice(0, 8)) });
      expect(c.status).toBe(NfsStatus.OK);
      expect((await client.setattr(c.fh!, { mode: 0o644 })).status).toBe(NfsStatus.OK);
      expect((await client.write(c.fh!, 0, Buffer.from(`content of ${n}\n`), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    }
    const t = traced();
    // one fdatasync per file, the FILE_SYNC WRITE's: the new empty data file is not synced on its own first (copy-up.ts)
    expect(t.filter((l) => l.startsWith(`fdatasync ${filesDir}/`)).length).toBe(names.length);
    expect(t).not.toContain(`fsync ${filesDir}`);
    expect(t.filter((l) => l.startsWith(`ftruncate ${filesDir}/`))).toEqual([]);

    await d.restart({ signal: 'SIGKILL' });
    await client.close();
    client = await Nfs3Client.connect(d.port);
    root = await client.mountRoot(exportPath);
    for (const n of names) {
      const fh = (await client.lookup(root, n)).fh!;
      expect((await client.read(fh, 0, 100)).data?.toString()).toBe(`content of ${n}\n`);
    }
  });

  it('REMOVE unlinks the data file; a rename over a file unlinks the replaced one', async () => {
    const before = fs.readdirSync(filesDir).length;
    expect(before).toBeGreaterThanOrEqual(20);
    expect((await client.remove(root, 'f0.txt')).status).toBe(NfsStatus.OK);
    expect((await client.rename(root, 'f1.txt', root, 'f2.txt')).status).toBe(NfsStatus.OK);
    expect(fs.readdirSync(filesDir).length).toBe(before - 2);
    const fh = (await client.lookup(root, 'f2.txt')).fh!;
    expect((await client.read(fh, 0, 100)).data?.toString()).toBe('content of f1.txt\n');
    expect((await client.lookup(root, 'f0.txt')).status).toBe(NfsStatus.NOENT);
  });

  it('a failed journal sync on tmpfs (made inline, not through the thread pool) is IO, then the session is read-only', async () => {
    const other = await d.startSession('shm/p', 'journal sync fails');
    const r = await client.mountRoot(other.export);
    const fh = (await client.create(r, 'x.txt', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    const w = await client.write(fh, 0, Buffer.from('kept\n'), StableHow.FILE_SYNC);
    expect(w.status).toBe(NfsStatus.OK);
    fs.writeFileSync(path.join(faults, 'fsync-eio'), '');
    try {
      // the chmod's journal record cannot be made durable: not acknowledged
      expect((await client.setattr(fh, { mode: 0o600 })).status).toBe(NfsStatus.IO);
    } finally {
      fs.rmSync(path.join(faults, 'fsync-eio'), { force: true });
    }
    // a failed sync is never retried as if nothing happened: no more changes until a restart; reads go on
    expect((await client.setattr(fh, { mode: 0o640 })).status).toBe(NfsStatus.ROFS);
    expect((await client.create(r, 'y.txt', { kind: 'guarded', attrs: { mode: 0o644 } })).status).toBe(NfsStatus.ROFS);
    expect((await client.read(fh, 0, 100)).data?.toString()).toBe('kept\n');
    // the first session is not affected
    expect((await client.setattr((await client.lookup(root, 'f2.txt')).fh!, { mode: 0o644 })).status).toBe(NfsStatus.OK);
  });
});
