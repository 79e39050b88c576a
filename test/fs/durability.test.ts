// Issue 8 item 5: durability gaps, found over the wire in the real daemon (dist/, its own process) with an
// LD_PRELOAD shim (test/lib/fault-shim.c) that traces ftruncate/fsync/fdatasync and injects faults:
//   - a size-changing ftruncate is fdatasynced before SETATTR answers;
//   - names are made durable: the data dir (secret, node-id), sessions/ (a new session), files/ (a new data
//     file), the session dir (a new journal generation);
//   - short journal writes lose nothing;
//   - a failed fsync makes the session read-only (a later sync is never trusted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { buildFaultShim } from '../lib/fault-shim.js';

let tmp: string;
let faults: string;
let d: Daemon;
let client: Nfs3Client;
let root: Buffer;
let sessionDir: string;

const on = (m: string) => fs.writeFileSync(path.join(faults, m), '');
const off = (m: string) => fs.rmSync(path.join(faults, m), { force: true });
const traceLog = () => path.join(faults, 'trace.log');
const traced = (): string[] => (fs.existsSync(traceLog()) ? fs.readFileSync(traceLog(), 'utf8').split('\n').filter(Boolean) : []);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mic-durable-'));
  faults = path.join(tmp, 'faults');
  fs.mkdirSync(faults);
  const shim = buildFaultShim(tmp);
  on('trace');
  d = await startDaemon({ dataDir: path.join(tmp, 'data'), env: { LD_PRELOAD: shim, MIC_FAULT_DIR: faults } });
  await d.initProject('dur/p', { 'a.txt': 'a\n' });
  const s = await d.startSession('dur/p', 'durability');
  sessionDir = path.join(d.dataDir, 'sessions', s.session_id);
  client = await Nfs3Client.connect(d.port);
  root = await client.mountRoot(s.export);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await d?.stop('SIGKILL', { cleanup: false });
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Journal writes the shim has stalled so far (faults.log lines "stall <journal path>"). */
const stalls = (): number =>
  fs.existsSync(path.join(faults, 'faults.log'))
    ? fs
        .readFileSync(path.join(faults, 'faults.log'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('stall ')).length
    : 0;

/** Waits until the shim stalls a journal write after the `seen` ones before. */
async function stalled(seen: number): Promise<void> {
  for (let i = 0; i < 100 && stalls() <= seen; i++) await new Promise((r) => setTimeout(r, 50));
  expect(stalls()).toBeGreaterThan(seen);
}

async function reconnect(): Promise<void> {
  await client.close();
  client = await Nfs3Client.connect(d.port);
}

describe('durability', () => {
  it('new names are durable: data dir, sessions/, files/, a new journal generation', async () => {
    const t = traced();
    expect(t).toContain(`fsync ${d.dataDir}`); // secret and node-id
    expect(t).toContain(`fsync ${path.join(d.dataDir, 'sessions')}`); // the session's directory
    fs.rmSync(traceLog(), { force: true });
    const fh = (await client.create(root, 'new.bin', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    expect((await client.write(fh, 0, Buffer.from('data'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    const after = traced();
    const file = after.findIndex((l) => l.startsWith(`fdatasync ${path.join(sessionDir, 'files')}/`));
    expect(file).toBeGreaterThanOrEqual(0);
    expect(after.slice(file)).toContain(`fsync ${path.join(sessionDir, 'files')}`);

    // a restart replays the journal and starts a new generation: its name must be durable too
    fs.rmSync(traceLog(), { force: true });
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    expect(traced().filter((l) => l === `fsync ${sessionDir}`).length).toBeGreaterThanOrEqual(2); // checkpoint rename + new journal
  });

  it('a size-changing SETATTR fdatasyncs the data file after its ftruncate, before answering', async () => {
    const fh = (await client.lookup(root, 'new.bin')).fh!;
    fs.rmSync(traceLog(), { force: true });
    expect((await client.setattr(fh, { size: 1 })).status).toBe(NfsStatus.OK);
    const t = traced();
    const trunc = t.findIndex((l) => l.startsWith('ftruncate ') && l.includes(`${path.join(sessionDir, 'files')}/`));
    expect(trunc).toBeGreaterThanOrEqual(0);
    const file = t[trunc]!.slice('ftruncate '.length);
    expect(t.slice(trunc + 1)).toContain(`fdatasync ${file}`);
  });

  it('a short journal write (then ENOSPC) loses no acknowledged CREATE', async () => {
    off('trace');
    on('short-write');
    const names = Array.from({ length: 12 }, (_, i) => `short-${i}.txt`);
    let refused = 0;
    for (const n of names) {
      // as a client would: NOSPC, then try again a little later
      for (let attempt = 0; ; attempt++) {
        const st = (await client.create(root, n, { kind: 'unchecked', attrs: { mode: 0o644 } })).status;
        if (st === NfsStatus.OK) break;
        expect(st).toBe(NfsStatus.NOSPC);
        expect(attempt).toBeLessThan(5);
        refused++;
        await new Promise((r) => setTimeout(r, 1100));
      }
    }
    off('short-write');
    // the fault did strike (libuv passes a short write on as a short count, swallowing the ENOSPC after it)
    expect(fs.readFileSync(path.join(faults, 'faults.log'), 'utf8')).toContain('short-write');
    expect(refused).toBeLessThan(names.length);
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    for (const n of names) expect((await client.lookup(root, n)).status, n).toBe(NfsStatus.OK);
  });

  it('a REMOVE killed before its journal record is written leaves the file and its content', async () => {
    const fh = (await client.create(root, 'victim.bin', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    const content = Buffer.alloc(5000, 7);
    expect((await client.write(fh, 0, content, StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    const seen = stalls();
    on('stall-journal');
    const pending = client.remove(root, 'victim.bin').catch(() => null); // never answered: the daemon dies
    await stalled(seen);
    off('stall-journal');
    await d.restart({ signal: 'SIGKILL' });
    await pending;
    await reconnect();
    const again = await client.lookup(root, 'victim.bin');
    expect(again.status).toBe(NfsStatus.OK);
    expect((await client.read(again.fh!, 0, 10000)).data!.equals(content)).toBe(true);
  });

  it('SETATTR without a size, CREATE and MKDIR answer after their journal records: killed before, the old state; answered, the new', async () => {
    // chmod, chown and utimes are made at once and wait only for the journal (SessionState.changeNow)
    const fh = (await client.create(root, 'attrs.bin', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    const seen = stalls();
    on('stall-journal');
    let answered = false;
    const pending = client
      .setattr(fh, { mode: 0o600 })
      .then(() => (answered = true))
      .catch(() => null); // never answered: the daemon dies
    await stalled(seen);
    off('stall-journal');
    expect(answered).toBe(false);
    await d.restart({ signal: 'SIGKILL' });
    await pending;
    await reconnect();
    expect((await client.getattr(fh)).attrs!.mode).toBe(0o644);
    const mtime = { sec: 1_500_000_000, nsec: 7 };
    expect((await client.setattr(fh, { mode: 0o640 })).status).toBe(NfsStatus.OK);
    expect((await client.setattr(fh, { mtime })).status).toBe(NfsStatus.OK);
    // CREATE and MKDIR without a size are made at once the same way
    const dir = await client.mkdir(root, 'made-now', { mode: 0o750 });
    expect(dir.status).toBe(NfsStatus.OK);
    const file = await client.create(dir.fh!, 'x', { kind: 'exclusive', verf: Buffer.from('verifier') });
    expect(file.status).toBe(NfsStatus.OK);
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    const a = (await client.getattr(fh)).attrs!;
    expect(a.mode).toBe(0o640);
    expect(a.mtime).toEqual(mtime);
    const dirAgain = await client.lookup(root, 'made-now');
    expect(dirAgain.attrs!.mode).toBe(0o750);
    expect((await client.lookup(dirAgain.fh!, 'x')).status).toBe(NfsStatus.OK);
    // the retransmitted exclusive CREATE finds its verifier after the restart (RFC 1813 3.3.8)
    expect((await client.create(dirAgain.fh!, 'x', { kind: 'exclusive', verf: Buffer.from('verifier') })).status).toBe(NfsStatus.OK);
  });

  it('an answered REMOVE (made at once, answered after its journal record) is gone after SIGKILL, its data file too', async () => {
    // (killed before its journal record: the test 'a REMOVE killed before ...' above)
    const fh = (await client.create(root, 'gone.bin', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    expect((await client.write(fh, 0, Buffer.alloc(3000, 4), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    const dataFile = path.join(sessionDir, 'files', String((await client.getattr(fh)).attrs!.fileid));
    expect(fs.existsSync(dataFile)).toBe(true);
    expect((await client.remove(root, 'gone.bin')).status).toBe(NfsStatus.OK);
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    expect((await client.lookup(root, 'gone.bin')).status).toBe(NfsStatus.NOENT);
    expect(fs.existsSync(dataFile)).toBe(false);
  });

  it('a failed fsync makes the session read-only until the daemon restarts; reads go on', async () => {
    const fh = (await client.create(root, 'eio.bin', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    const w = await client.write(fh, 0, Buffer.from('unstable'), StableHow.UNSTABLE);
    expect(w.status).toBe(NfsStatus.OK);
    on('fsync-eio');
    const c = await client.commit(fh);
    expect(c.status).toBe(NfsStatus.IO);
    off('fsync-eio');
    // the disk answers again, but what the failed fsync covered may be gone: never trusted
    expect((await client.write(fh, 0, Buffer.from('later'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.ROFS);
    expect((await client.create(root, 'after-eio', { kind: 'guarded', attrs: { mode: 0o644 } })).status).toBe(NfsStatus.ROFS);
    expect((await client.commit(fh)).status).not.toBe(NfsStatus.OK);
    const r = await client.read((await client.lookup(root, 'a.txt')).fh!, 0, 100);
    expect(r.data!.toString()).toBe('a\n');
    // a new daemon: a new verifier, and the session takes changes again
    await d.restart({ signal: 'SIGKILL' });
    await reconnect();
    const w2 = await client.write(fh, 0, Buffer.from('again'), StableHow.FILE_SYNC);
    expect(w2.status).toBe(NfsStatus.OK);
    expect(w2.verf!.equals(w.verf!)).toBe(false);
  });
});
