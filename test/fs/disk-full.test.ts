// Issue 8 item 10: a full disk. The real daemon (dist/, its own process) keeps its data directory on a
// small tmpfs; the test fills the tmpfs from outside. Writes get NOSPC, reads go on, the daemon stays up,
// it takes changes again once space is freed, and it starts (read-only) on a full disk.
// Needs root for mount -t tmpfs (CI runs as root).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';

let mnt: string;
let d: Daemon;
let client: Nfs3Client;
let root: Buffer;
let exportPath: string;
const KEEP = 'kept across the full disk\n'.repeat(100);

/** Fills the tmpfs from outside the daemon until the kernel says ENOSPC, then frees `leave` bytes. */
function fill(leave = 0): string {
  const file = path.join(mnt, `filler-${Date.now()}`);
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(1 << 20, 0x5a);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  // the last partial blocks: fill to the byte
  try {
    for (;;) fs.writeSync(fd, block, 0, 512);
  } catch {
    /* full */
  }
  if (leave) fs.ftruncateSync(fd, Math.max(0, fs.fstatSync(fd).size - leave));
  fs.closeSync(fd);
  return file;
}

async function until(what: string, f: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

beforeAll(async () => {
  mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'mic-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt]);
  d = await startDaemon({ dataDir: mnt });
  await d.initProject('full/p', { 'keep.txt': KEEP });
  const s = await d.startSession('full/p', 'disk full');
  client = await Nfs3Client.connect(d.port);
  exportPath = s.export;
  root = await client.mountRoot(exportPath);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await d?.stop('SIGKILL', { cleanup: false });
  try {
    execFileSync('umount', ['-l', mnt]);
  } catch {
    /* not mounted */
  }
  fs.rmSync(mnt, { recursive: true, force: true });
});

async function readKeep(): Promise<string> {
  const fh = (await client.lookup(root, 'keep.txt')).fh!;
  const r = await client.read(fh, 0, 1 << 20);
  expect(r.status).toBe(NfsStatus.OK);
  return r.data!.toString();
}

describe('a full disk', () => {
  it('WRITE and CREATE get NOSPC, reads go on, the daemon stays up, and takes changes once space is freed', async () => {
    const f = await client.create(root, 'grow.bin', { kind: 'guarded', attrs: { mode: 0o644 } });
    expect(f.status).toBe(NfsStatus.OK);
    const filler = fill();
    // the journal: every new name needs a record; a full disk must not take the daemon down (ENOSPC was
    // thrown in setImmediate), the CREATE gets NOSPC
    const statuses = new Set<number>();
    let refused = '';
    for (let i = 0; i < 200 && !statuses.has(NfsStatus.NOSPC); i++) {
      statuses.add((await client.create(root, (refused = `new-${i}.txt`), { kind: 'guarded', attrs: { mode: 0o644 } })).status);
    }
    expect([...statuses].every((s) => s === NfsStatus.NOSPC || s === NfsStatus.OK)).toBe(true);
    expect(statuses.has(NfsStatus.NOSPC)).toBe(true);
    // the data file: the kernel refuses the bytes
    const w = await client.write(f.fh!, 0, Buffer.alloc(256 * 1024, 1), StableHow.FILE_SYNC);
    expect(w.status).toBe(NfsStatus.NOSPC);
    const u = await client.write(f.fh!, 0, Buffer.alloc(64 * 1024, 2), StableHow.UNSTABLE);
    expect(u.status).toBe(NfsStatus.NOSPC);
    // reads go on
    expect(await readKeep()).toBe(KEEP);
    await client.null();
    expect(process.kill(d.pid, 0)).toBe(true);

    fs.rmSync(filler);
    let fh: Buffer | undefined;
    await until('a CREATE after space was freed', async () => {
      const r = await client.create(root, 'after.txt', { kind: 'unchecked', attrs: { mode: 0o644 } });
      fh = r.fh ?? undefined;
      return r.status === NfsStatus.OK;
    });
    const ok = await client.write(fh!, 0, Buffer.from('space again\n'), StableHow.FILE_SYNC);
    expect(ok.status).toBe(NfsStatus.OK);
    expect((await client.read(fh!, 0, 100)).data!.toString()).toBe('space again\n');

    // the CREATE refused for the journal's ENOSPC was made in memory, and its records were kept and written
    // ahead of after.txt's (a copy out of the journal's frame buffer, which the next frame reuses): after
    // SIGKILL both names are back, and after.txt's content
    expect((await client.lookup(root, refused)).status).toBe(NfsStatus.OK);
    await client.close();
    await d.restart({ signal: 'SIGKILL' });
    client = await Nfs3Client.connect(d.port);
    root = await client.mountRoot(exportPath);
    expect((await client.lookup(root, refused)).status).toBe(NfsStatus.OK);
    const again = await client.lookup(root, 'after.txt');
    expect(again.status).toBe(NfsStatus.OK);
    expect((await client.read(again.fh!, 0, 100)).data!.toString()).toBe('space again\n');
    expect(await readKeep()).toBe(KEEP);
  });

  it('starts on a full disk, serves reads, refuses changes with NOSPC, and recovers when space is freed', async () => {
    // below the sessions' floor of free space (1 MiB), with room for the daemon's own daemon.json, which the
    // test waits for (without it the daemon serves all the same: the CLI just cannot find it)
    const filler = fill(256 * 1024);
    await d.restart({ signal: 'SIGKILL' });
    await client.close();
    client = await Nfs3Client.connect(d.port);
    // the same handles work after the restart
    expect(await readKeep()).toBe(KEEP);
    const after = (await client.lookup(root, 'after.txt')).fh!;
    expect((await client.read(after, 0, 100)).data!.toString()).toBe('space again\n');
    const c = await client.create(root, 'on-full.txt', { kind: 'guarded', attrs: { mode: 0o644 } });
    expect(c.status).toBe(NfsStatus.NOSPC);
    const w = await client.write(after, 0, Buffer.from('x'), StableHow.FILE_SYNC);
    expect(w.status).toBe(NfsStatus.NOSPC);
    fs.rmSync(filler);
    await until(
      'a CREATE once space is back',
      async () => (await client.create(root, 'on-free.txt', { kind: 'guarded', attrs: { mode: 0o644 } })).status === NfsStatus.OK,
    );
  });
});
