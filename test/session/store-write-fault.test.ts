// Store writes that fail with EIO (LD_PRELOAD fault shim, test/lib/fault-shim.c, marker rename-eio naming
// the object: the local store writes every object by rename) in the middle of a session's handoff and
// abandon. Real daemons (dist/), the API over HTTP, NFS on the wire.
//
// A handoff whose last step, the release of the session's holder ref, fails, after the record says handed
// off and the export is closed. The
// handoff answers 503 release_pending saying so; the daemon retries the release in the background
// (Ownership.releaseLater), and once the store writes again a second daemon on the same store serves the
// session without --force, with every acknowledged byte. Before, the session stayed held by the first
// daemon, which no longer served it: the second one answered 409 served_elsewhere until the lease ran out
// (60 s; never for the CLI's).
//
// A client mounting the session on the first daemon again while that release is still being retried takes
// it back (as a mount of any handed-off session does): the retry stops, the holder ref gets a new generation,
// the first daemon serves it, and the second is told so (409 served_elsewhere). Before, the mount cancelled
// the retry but left the holder at the generation the record's handed_off event released, so the first
// daemon's next start took it for a handoff a crash cut short and handed the session off again, behind the
// back of the client writing to it there.
//
// An abandon whose record cannot be written: the session goes on as it was, its mount writable. Before, it
// stayed frozen (its NFS changes refused) until the daemon restarted.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientOf, startDaemon, startSharingStore, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { mount, readNfs } from '../s3/daemons.js'; // NFS helpers (no S3 involved)
import { until } from '../lib/until.js';
import { ApiError } from '../../src/api/client.js';
import { buildFaultShim } from '../lib/fault-shim.js';

const P = 'rel/app';
const tmp = mkdtempSync(join(tmpdir(), 'mic-relfault-'));
const faults = join(tmp, 'faults');
let d1: Daemon, d2: Daemon;

beforeAll(async () => {
  mkdirSync(faults);
  const shim = buildFaultShim(tmp);
  d1 = await startDaemon({ dataDir: join(tmp, 'd1'), args: ['--api-port', '0'], env: { LD_PRELOAD: shim, MIC_FAULT_DIR: faults } });
  expect((await d1.initProject(P, { 'README.md': 'r\n' })).code).toBe(0);
  d2 = await startSharingStore(d1, join(tmp, 'd2'));
}, 60_000);

afterAll(async () => {
  await d1?.stop();
  await d2?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const rejection = async (p: Promise<unknown>): Promise<ApiError> => {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
};

describe('a holder release that fails', () => {
  it('is retried until done: another daemon then serves the session without --force, every byte there', async () => {
    const api = apiClientOf(d1.dataDir);
    const api2 = apiClientOf(d2.dataDir);
    const id = (await api.start({ goal: 'release me', project: P })).session.session_id;
    await api.files(id, { files: [{ path: 'api.txt', change_type: 'added', content: 'via the api\n' }] });
    const c = await Nfs3Client.connect(d1.port);
    try {
      const root = await c.mountRoot(`/exports/sessions/${id}`);
      const cr = await c.create(root, 'nfs.txt', { kind: 'guarded', attrs: { mode: 0o644 } });
      expect(cr.status).toBe(NfsStatus.OK);
      expect((await c.write(cr.fh!, 0, Buffer.from('via nfs\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    } finally {
      await c.close();
    }

    writeFileSync(join(faults, 'rename-eio'), '/holder\n');
    const e = await rejection(api.handoff(id));
    expect(e.status).toBe(503);
    expect(e.body.error).toBe('release_pending');
    expect(e.message).toMatch(/handed off .* holder could not be released/);
    // the fault struck, more than once (the retries)
    const struck = () =>
      existsSync(join(faults, 'faults.log'))
        ? readFileSync(join(faults, 'faults.log'), 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('rename-eio') && l.endsWith('/holder')).length
        : 0;
    await until(() => struck() >= 2);
    // still held by the first daemon meanwhile: the second needs --force
    expect((await rejection(api2.serve(id))).body.error).toBe('served_elsewhere');

    rmSync(join(faults, 'rename-eio'));
    const released = () => d1.logLines((l) => String(l.msg).startsWith('holder released after a retry') && l.session === id);
    await until(() => released().length === 1, 20_000);
    const sv = await api2.serve(id); // no --force
    expect(sv).toMatchObject({ previous: null, took_over: true });
    const rec = (await api2.get(id)).session;
    expect(rec.served_by).toBe(sv.served_by);
    const m = await mount(d2.port, rec.export!);
    try {
      expect(await readNfs(m, 'api.txt')).toBe('via the api\n');
      expect(await readNfs(m, 'nfs.txt')).toBe('via nfs\n');
    } finally {
      await m.client.close();
    }
    const tl = rec.timeline.map((x) => x.type);
    expect(tl.filter((t) => t === 'handed_off')).toHaveLength(1);
    expect(tl.filter((t) => t === 'served')).toHaveLength(1);
    // the first daemon no longer serves it
    expect((await rejection(api.files(id, { files: [{ path: 'late.txt', change_type: 'added', content: 'x' }] }))).status).toBe(409);
    expect(existsSync(join(d1.dataDir, 'sessions', id))).toBe(false);
  }, 60_000);
});

describe('a mount on the handing-off daemon while its release is retried', () => {
  it('takes the session back for good: served there, also after a restart; the other daemon told so', async () => {
    const api = apiClientOf(d1.dataDir);
    const api2 = apiClientOf(d2.dataDir);
    const id = (await api.start({ goal: 'taken back', project: P })).session.session_id;
    await api.files(id, { files: [{ path: 'before.txt', change_type: 'added', content: 'before\n' }] });
    const struck = () =>
      existsSync(join(faults, 'faults.log'))
        ? readFileSync(join(faults, 'faults.log'), 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('rename-eio') && l.endsWith(`${id}/holder`)).length
        : 0;
    writeFileSync(join(faults, 'rename-eio'), `${id}/holder\n`);
    expect((await rejection(api.handoff(id))).body.error).toBe('release_pending');
    await until(() => struck() >= 3); // retried in the background
    // meanwhile the session counts as handed off here: a change through the API is refused as such
    expect((await rejection(api.files(id, { files: [{ path: 'x.txt', change_type: 'added', content: 'x' }] }))).body.error).toBe(
      'handed_off',
    );
    rmSync(join(faults, 'rename-eio'));
    // a client mounts it here again (whether or not the retry's release got in first)
    const m = await mount(d1.port, `/exports/sessions/${id}`);
    try {
      expect(await readNfs(m, 'before.txt')).toBe('before\n');
      const cr = await m.client.create(m.root, 'after.txt', { kind: 'guarded', attrs: { mode: 0o644 } });
      expect(cr.status).toBe(NfsStatus.OK);
      expect((await m.client.write(cr.fh!, 0, Buffer.from('after\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    } finally {
      await m.client.close();
    }
    expect((await rejection(api2.serve(id))).body.error).toBe('served_elsewhere');
    // the first daemon's next start keeps serving it (no handoff redone), every byte there
    await d1.restart({ signal: 'SIGTERM' });
    expect(d1.logLines((l) => l.session === id && /handoff cut short/.test(String(l.msg)))).toEqual([]);
    const m2 = await mount(d1.port, `/exports/sessions/${id}`);
    try {
      expect(await readNfs(m2, 'after.txt')).toBe('after\n');
    } finally {
      await m2.client.close();
    }
    expect((await rejection(api2.serve(id))).body.error).toBe('served_elsewhere');
    const node1 = readFileSync(join(d1.dataDir, 'node-id'), 'utf8').trim();
    expect((await apiClientOf(d1.dataDir).get(id)).session.served_by).toBe(node1);
  }, 60_000);
});

describe('an abandon whose record cannot be written', () => {
  it('leaves the session as it was: active, its mount writable', async () => {
    const api = apiClientOf(d1.dataDir);
    const s = (await api.start({ goal: 'not abandoned', project: P })).session;
    const c = await Nfs3Client.connect(d1.port);
    try {
      const root = await c.mountRoot(s.export!);
      const cr = await c.create(root, 'kept.txt', { kind: 'guarded', attrs: { mode: 0o644 } });
      expect(cr.status).toBe(NfsStatus.OK);
      writeFileSync(join(faults, 'rename-eio'), `/sessions/${s.session_id}/metadata.json\n`);
      expect((await rejection(api.abandon(s.session_id))).status).toBe(500);
      rmSync(join(faults, 'rename-eio'));
      expect((await api.get(s.session_id)).session.status).toBe('active');
      // not frozen: the next change is done, not refused (JUKEBOX: the client would wait for good)
      expect((await c.write(cr.fh!, 0, Buffer.from('after\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
      expect((await c.create(root, 'later.txt', { kind: 'guarded', attrs: { mode: 0o644 } })).status).toBe(NfsStatus.OK);
      await api.abandon(s.session_id); // and abandoning works once the store writes again
      expect((await api.get(s.session_id)).session.status).toBe('abandoned');
    } finally {
      await c.close();
    }
  }, 60_000);
});
