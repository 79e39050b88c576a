// A CREATE or SETATTR that truncates a large data file replaces it (DataFiles.replace): the kernel frees the old
// file's pages on the thread pool, never on the event loop; the truncating call is answered once they are freed.
// Checked over the wire against the
// real daemon (dist/, its own process) with the fault shim (test/lib/fault-shim.c), whose stall-shrink marker
// holds every shrinking ftruncate of a data file until the marker goes:
//   - while the old file's freeing is held, other calls are answered, on other files and on the truncated one
//     (ordering: every answer comes before the shim notes the freeing resumed); the truncating call after it;
//   - the same for a REMOVE of a large file (unlinked while open, emptied and closed on the thread pool);
//   - SIGKILL before the rename, after it (the journal held), and while the old file is being freed: every
//     acknowledged byte and size is there after the restart, and no replacement file is left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiClientOf, startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { buildFaultShim } from '../lib/fault-shim.js';
import { until } from '../lib/until.js';

const MiB = 1024 * 1024;
let tmp: string;
let faults: string;
let d: Daemon;
let client: Nfs3Client;
let root: Buffer;
let filesDir: string;

const on = (m: string, content = '') => fs.writeFileSync(path.join(faults, m), content);
const off = (m: string) => fs.rmSync(path.join(faults, m), { force: true });
const faultLog = (): string[] => {
  const f = path.join(faults, 'faults.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
};
const noted = (what: string) => faultLog().filter((l) => l.startsWith(`${what} `)).length;

/** `len` bytes of a pattern that differs per `seed`. */
function pattern(len: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + seed + (i >> 12)) & 0xff;
  return b;
}

async function reconnect(): Promise<void> {
  await client.close();
  client = await Nfs3Client.connect(d.port);
}

/** A file of `content`, written FILE_SYNC in 1 MiB pieces. */
async function bigFile(name: string, content: Buffer): Promise<Buffer> {
  const made = await client.create(root, name, { kind: 'guarded', attrs: { mode: 0o644 } });
  expect(made.status).toBe(NfsStatus.OK);
  for (let off = 0; off < content.length; off += MiB) {
    const w = await client.write(made.fh!, off, content.subarray(off, off + MiB), StableHow.FILE_SYNC);
    expect(w.status).toBe(NfsStatus.OK);
  }
  return made.fh!;
}

async function contentOf(fh: Buffer): Promise<Buffer> {
  const size = Number((await client.getattr(fh)).attrs!.size);
  const parts: Buffer[] = [];
  for (let off = 0; off < size; off += MiB) {
    const r = await client.read(fh, off, MiB);
    expect(r.status).toBe(NfsStatus.OK);
    parts.push(r.data!);
  }
  const all = Buffer.concat(parts);
  expect(all.length).toBe(size);
  return all;
}

/** Replacement files (`<ino>.new`) in the session's files/ directory. */
const partial = () => fs.readdirSync(filesDir).filter((f) => !/^\d+$/.test(f));

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mic-trunc-'));
  faults = path.join(tmp, 'faults');
  fs.mkdirSync(faults);
  const shim = buildFaultShim(tmp);
  d = await startDaemon({ dataDir: path.join(tmp, 'data'), env: { LD_PRELOAD: shim, MIC_FAULT_DIR: faults } });
  await d.initProject('trunc/p', { 'a.txt': 'a\n' });
  const s = await d.startSession('trunc/p', 'truncation off the event loop');
  filesDir = path.join(d.dataDir, 'sessions', s.session_id, 'files');
  client = await Nfs3Client.connect(d.port);
  root = await client.mountRoot(s.export);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await d?.stop('SIGKILL', { cleanup: false });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('truncating a large data file', () => {
  it('answers other calls while the old file is being freed, and the truncating call once it is freed', async () => {
    const big = await bigFile('big.bin', pattern(8 * MiB, 1));
    const other = await bigFile('other.bin', pattern(100_000, 2));
    const again = await bigFile('again.bin', pattern(2 * MiB, 3));
    const [stalled, resumed] = [noted('shrink-stall'), noted('shrink-resume')];
    const answered: string[] = [];
    on('stall-shrink');
    let cut: ReturnType<typeof client.setattr> | undefined;
    let made: ReturnType<typeof client.create> | undefined;
    try {
      // SETATTR to zero (open(O_TRUNC)), then CREATE UNCHECKED with size 0 of another large file (the benchmark's)
      cut = client.setattr(big, { size: 0 }).finally(() => answered.push('setattr'));
      await until(() => noted('shrink-stall') > stalled);
      made = client.create(root, 'again.bin', { kind: 'unchecked', attrs: { size: 0 } }).finally(() => answered.push('create'));
      await until(() => noted('shrink-stall') > stalled + 1);
      // other files, and the truncated ones (their new, empty data files)
      expect((await client.read(other, 0, 200_000)).data!.equals(pattern(100_000, 2))).toBe(true);
      expect((await client.write(other, 100_000, Buffer.from('more'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
      expect((await client.getattr(big)).attrs!.size).toBe(0);
      expect((await client.write(big, 10, Buffer.from('fresh'), StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
      expect((await client.commit(big)).status).toBe(NfsStatus.OK);
      const r = await client.read(big, 0, 100);
      expect(r.data!.equals(Buffer.concat([Buffer.alloc(10), Buffer.from('fresh')]))).toBe(true);
      expect(r.eof).toBe(true);
      expect((await client.read(again, 0, 100)).data!.length).toBe(0);
      // every answer came while the old files' freeing was held; the truncating calls wait for theirs
      expect(noted('shrink-resume')).toBe(resumed);
      expect(answered).toEqual([]);
    } finally {
      off('stall-shrink');
    }
    expect((await cut!).status).toBe(NfsStatus.OK);
    const m = await made!;
    expect(m.status).toBe(NfsStatus.OK);
    expect(m.attrs!.size).toBe(0);
    expect(noted('shrink-resume')).toBeGreaterThanOrEqual(resumed + 2); // answered after the pages were freed
    await until(() => noted('shrink-resume') >= resumed + 2);
    expect(partial()).toEqual([]);
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    expect((await contentOf(big)).equals(Buffer.concat([Buffer.alloc(10), Buffer.from('fresh')]))).toBe(true);
    expect((await contentOf(other)).equals(Buffer.concat([pattern(100_000, 2), Buffer.from('more')]))).toBe(true);
    expect((await client.getattr((await client.lookup(root, 'again.bin')).fh!)).attrs!.size).toBe(0);
  }, 120_000);

  it('a data file not open (since a restart): SETATTR and CREATE UNCHECKED to size 0 free it off the event loop', async () => {
    const cutFh = await bigFile('closed-cut.bin', pattern(6 * MiB, 11));
    await bigFile('closed-made.bin', pattern(3 * MiB, 12));
    const other = await bigFile('closed-other.bin', pattern(50_000, 13));
    await d.restart({ signal: 'SIGKILL' }); // the daemon's data files are all closed
    await reconnect();
    const [stalled, resumed] = [noted('shrink-stall'), noted('shrink-resume')];
    const answered: string[] = [];
    on('stall-shrink'); // holds a shrinking ftruncate, and an open(O_TRUNC) of a non-empty data file
    let cut: ReturnType<typeof client.setattr> | undefined;
    let made: ReturnType<typeof client.create> | undefined;
    try {
      cut = client.setattr(cutFh, { size: 0 }).finally(() => answered.push('setattr'));
      await until(() => noted('shrink-stall') > stalled);
      made = client.create(root, 'closed-made.bin', { kind: 'unchecked', attrs: { size: 0 } }).finally(() => answered.push('create'));
      await until(() => noted('shrink-stall') > stalled + 1);
      expect((await client.read(other, 0, 100_000)).data!.equals(pattern(50_000, 13))).toBe(true);
      expect((await client.getattr(cutFh)).attrs!.size).toBe(0);
      expect((await client.write(cutFh, 0, Buffer.from('new'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
      expect(noted('shrink-resume')).toBe(resumed);
      expect(answered).toEqual([]);
    } finally {
      off('stall-shrink');
    }
    expect((await cut!).status).toBe(NfsStatus.OK);
    expect((await made!).attrs!.size).toBe(0);
    expect(noted('shrink-resume')).toBeGreaterThanOrEqual(resumed + 2);
    expect(partial()).toEqual([]);

    // SIGKILL before the rename of a file not open: the old bytes; after the answer: the new state
    const content = pattern(2 * MiB, 14);
    const k = await bigFile('closed-kill.bin', content);
    const ino = (await client.getattr(k)).attrs!.fileid;
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    const seen = noted('rename-stall');
    on('rename-stall', `/files/${ino}\n`);
    const pending = client.setattr(k, { size: 0 }).catch(() => null); // never answered: the daemon dies
    await until(() => noted('rename-stall') > seen);
    await d.restart({ signal: 'SIGKILL' });
    off('rename-stall');
    await pending;
    await reconnect();
    expect(partial()).toEqual([]);
    expect((await contentOf(k)).equals(content)).toBe(true);
    expect((await contentOf(cutFh)).toString()).toBe('new');
    expect((await client.getattr((await client.lookup(root, 'closed-made.bin')).fh!)).attrs!.size).toBe(0);
  }, 120_000);

  it('a cut that keeps bytes shrinks on the thread pool: reads answered meanwhile, writes after it, never cut away', async () => {
    // the test's data directory is on a disk: only a cut to zero is replaced there, any other shrinks in place
    const content = pattern(8 * MiB, 21);
    const fh = await bigFile('keep.bin', content);
    const other = await bigFile('keep-other.bin', pattern(50_000, 22));
    const [stalled, resumed] = [noted('shrink-stall'), noted('shrink-resume')];
    const order: string[] = [];
    on('stall-shrink');
    let cut: ReturnType<typeof client.setattr> | undefined;
    let past: ReturnType<typeof client.write> | undefined;
    let unstable: ReturnType<typeof client.write> | undefined;
    try {
      cut = client.setattr(fh, { size: 3 * MiB }).finally(() => order.push('setattr'));
      await until(() => noted('shrink-stall') > stalled);
      // writes to the file made after the cut: past the new size (FILE_SYNC) and inside it (UNSTABLE)
      past = client.write(fh, 4 * MiB, Buffer.from('past'), StableHow.FILE_SYNC).finally(() => order.push('write past'));
      unstable = client.write(fh, 100, Buffer.from('inside'), StableHow.UNSTABLE).finally(() => order.push('write inside'));
      // answered while the shrink is held: other files, and reads and attributes of the cut file (its new size)
      expect((await client.read(other, 0, 100_000)).data!.equals(pattern(50_000, 22))).toBe(true);
      expect((await client.getattr(fh)).attrs!.size).toBe(3 * MiB);
      const r = await client.read(fh, 3 * MiB - MiB, 2 * MiB);
      expect(r.data!.equals(content.subarray(2 * MiB, 3 * MiB))).toBe(true);
      expect(r.eof).toBe(true);
      expect(noted('shrink-resume')).toBe(resumed);
      expect(order).toEqual([]);
    } finally {
      off('stall-shrink');
    }
    expect((await cut!).status).toBe(NfsStatus.OK);
    expect((await past!).status).toBe(NfsStatus.OK);
    expect((await unstable!).status).toBe(NfsStatus.OK);
    expect(order[0]).not.toBe('setattr'); // the writes were answered once the shrink was done, before its sync
    expect(noted('shrink-resume')).toBeGreaterThan(resumed);
    const want = Buffer.concat([content.subarray(0, 3 * MiB), Buffer.alloc(MiB), Buffer.from('past')]);
    want.write('inside', 100);
    expect((await client.commit(fh)).status).toBe(NfsStatus.OK);
    expect((await contentOf(fh)).equals(want)).toBe(true);
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    expect((await contentOf(fh)).equals(want)).toBe(true);

    // SIGKILL while the shrink is held (not answered): the old size and bytes, the waiting write not made
    const k = await bigFile('keep-kill.bin', content);
    const [stalled2] = [noted('shrink-stall')];
    on('stall-shrink');
    const pending = client.setattr(k, { size: 2 * MiB }).catch(() => null); // never answered: the daemon dies
    await until(() => noted('shrink-stall') > stalled2);
    const waiting = client.write(k, 5 * MiB, Buffer.from('never'), StableHow.FILE_SYNC).catch(() => null);
    expect((await client.getattr(other)).status).toBe(NfsStatus.OK);
    await d.restart({ signal: 'SIGKILL' });
    off('stall-shrink');
    await Promise.all([pending, waiting]);
    await reconnect();
    const after = await contentOf(k);
    expect(after.equals(content) || after.equals(content.subarray(0, 2 * MiB))).toBe(true);
  }, 120_000);

  it('SIGKILL before the rename: the old size and bytes, no replacement file left', async () => {
    const content = pattern(3 * MiB, 4);
    const fh = await bigFile('k1.bin', content);
    const ino = (await client.getattr(fh)).attrs!.fileid;
    const seen = noted('rename-stall');
    on('rename-stall', `/files/${ino}\n`);
    const pending = client.setattr(fh, { size: 0 }).catch(() => null); // never answered: the daemon dies
    await until(() => noted('rename-stall') > seen);
    expect(fs.existsSync(path.join(filesDir, `${ino}.new`))).toBe(true);
    await d.restart({ signal: 'SIGKILL' });
    off('rename-stall');
    await pending;
    await reconnect();
    expect(partial()).toEqual([]);
    expect((await contentOf(fh)).equals(content)).toBe(true);
  }, 120_000);

  it('SIGKILL after the rename, before the journal record: the old state or the new one, and writes after an answered truncate', async () => {
    const content = pattern(2 * MiB, 5);
    const fh = await bigFile('k2.bin', content);
    const stalls = () => faultLog().filter((l) => l.startsWith('stall ')).length;
    const seen = stalls();
    on('stall-journal');
    const pending = client.setattr(fh, { size: 0 }).catch(() => null); // never answered: the daemon dies
    await until(() => stalls() > seen);
    off('stall-journal');
    await d.restart({ signal: 'SIGKILL' });
    await pending;
    await reconnect();
    expect(partial()).toEqual([]);
    const after = await contentOf(fh);
    expect(after.length === 0 || after.equals(content)).toBe(true);

    // killed while the old file is being freed (the truncating call not yet answered): every acknowledged byte of
    // a write made after the cut
    const fh3 = await bigFile('k3.bin', pattern(4 * MiB, 6));
    const [stalled, resumed] = [noted('shrink-stall'), noted('shrink-resume')];
    on('stall-shrink');
    const cut = client.setattr(fh3, { size: 0 }).catch(() => null); // never answered: the daemon dies
    await until(() => noted('shrink-stall') > stalled);
    expect((await client.write(fh3, 0, Buffer.from('after'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect(noted('shrink-resume')).toBe(resumed);
    await d.restart({ signal: 'SIGKILL' });
    off('stall-shrink');
    await cut;
    await reconnect();
    expect(partial()).toEqual([]);
    expect((await contentOf(fh3)).toString()).toBe('after');
    expect(fs.readdirSync(filesDir).every((f) => /^\d+$/.test(f))).toBe(true);
  }, 120_000);

  it('REMOVE of a large file, open or not, is answered while the data file is still being freed', async () => {
    const open = await bigFile('rm-open.bin', pattern(2 * MiB, 7)); // written: its data file is open
    const closedIno = (await client.getattr((await client.lookup(root, 'k1.bin')).fh!)).attrs!.fileid; // not open since the restart
    const [stalled, resumed] = [noted('shrink-stall'), noted('shrink-resume')];
    on('stall-shrink');
    try {
      expect((await client.remove(root, 'rm-open.bin')).status).toBe(NfsStatus.OK);
      expect((await client.remove(root, 'k1.bin')).status).toBe(NfsStatus.OK);
      await until(() => noted('shrink-stall') >= stalled + 2);
      expect((await client.getattr(open)).status).toBe(NfsStatus.STALE);
      expect((await client.read((await client.lookup(root, 'k3.bin')).fh!, 0, 100)).data!.toString()).toBe('after');
      expect(noted('shrink-resume')).toBe(resumed);
      expect(fs.existsSync(path.join(filesDir, String(closedIno)))).toBe(false);
    } finally {
      off('stall-shrink');
    }
    await until(() => noted('shrink-resume') >= resumed + 2);
  }, 120_000);

  it('a landing started while a truncation frees its old file waits for it, and lands the cut file', async () => {
    const s2 = await d.startSession('trunc/p', 'land during a truncation');
    const root2 = await client.mountRoot(s2.export);
    const made = await client.create(root2, 'cut.bin', { kind: 'guarded', attrs: { mode: 0o644 } });
    for (let off = 0; off < 4 * MiB; off += MiB)
      expect((await client.write(made.fh!, off, pattern(MiB, off), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    const [stalled, resumed] = [noted('shrink-stall'), noted('shrink-resume')];
    const order: string[] = [];
    on('stall-shrink');
    let cut: ReturnType<typeof client.setattr> | undefined;
    let landing: Promise<unknown> | undefined;
    try {
      cut = client.setattr(made.fh!, { size: 0 }).finally(() => order.push('setattr'));
      await until(() => noted('shrink-stall') > stalled);
      landing = apiClientOf(d.dataDir)
        .land(s2.session_id, { message: 'lands a cut file' })
        .finally(() => order.push('land'));
      // the daemon answers meanwhile; neither the truncation nor the landing is done while the free is held
      expect((await client.getattr(root)).status).toBe(NfsStatus.OK);
      expect(noted('shrink-resume')).toBe(resumed);
      expect(order).toEqual([]);
    } finally {
      off('stall-shrink');
    }
    expect((await cut!).status).toBe(NfsStatus.OK);
    await landing;
    expect(order).toEqual(['setattr', 'land']);
    // the new head has the file as the answered truncation left it
    const s3 = await d.startSession('trunc/p', 'reads the landed head');
    const root3 = await client.mountRoot(s3.export);
    const landed = await client.lookup(root3, 'cut.bin');
    expect(landed.status).toBe(NfsStatus.OK);
    expect((await client.getattr(landed.fh!)).attrs!.size).toBe(0);
    expect(partial()).toEqual([]);
  }, 120_000);
});
