// SIGKILL of the daemon (its own process, dist/) in the middle of a handoff: after the session's record says
// handed off (crash point handoff-recorded, session/handoff.ts) and before its holder ref is released. NFS
// writes (FILE_SYNC) and API files were acknowledged before. The restarted daemon finishes the handoff
// (SessionService.settleHandoffs): a second daemon on the same store (a local store shared through a
// symlinked objects directory) then serves the session without --force, with every acknowledged byte, and
// the timeline records the handoff once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientOf, startDaemon, startSharingStore, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { mount, readNfs } from '../s3/daemons.js'; // NFS helpers (no S3 involved)

const P = 'hok/app';
const tmp = mkdtempSync(join(tmpdir(), 'mic-hok-'));
const CRASH = join(tmp, 'crash-at');
let d1: Daemon, d2: Daemon;

beforeAll(async () => {
  d1 = await startDaemon({ args: ['--api-port', '0'], env: { MIC_CRASH_FILE: CRASH } });
  expect((await d1.initProject(P, { 'README.md': 'r\n' })).code).toBe(0);
  d2 = await startSharingStore(d1, join(tmp, 'd2'));
}, 60_000);

afterAll(async () => {
  await d1?.stop();
  await d2?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('SIGKILL between a handoff record and the release of its holder', () => {
  it('the restarted daemon finishes the handoff: another daemon serves the session without --force, every byte there', async () => {
    const api = apiClientOf(d1.dataDir);
    const s = (await api.start({ goal: 'hand me off', project: P })).session;
    const id = s.session_id;
    const apiFiles = Array.from({ length: 6 }, (_, k) => ({ path: `api/f${k}.txt`, change_type: 'added' as const, content: `api ${k}\n` }));
    await api.files(id, { files: apiFiles });
    const nfs = new Map<string, string>();
    const c = await Nfs3Client.connect(d1.port);
    try {
      const root = await c.mountRoot(s.export!);
      for (let k = 0; k < 5; k++) {
        const cr = await c.create(root, `nfs${k}.txt`, { kind: 'guarded', attrs: { mode: 0o644 } });
        expect(cr.status).toBe(NfsStatus.OK);
        const w = await c.write(cr.fh!, 0, Buffer.from(`nfs ${k}\n`), StableHow.FILE_SYNC);
        expect(w.status).toBe(NfsStatus.OK);
        nfs.set(`nfs${k}.txt`, `nfs ${k}\n`);
      }
    } finally {
      await c.close();
    }

    writeFileSync(CRASH, 'handoff-recorded');
    await expect(api.handoff(id)).rejects.toThrow(); // the daemon killed itself at the point
    await d1.restart({ signal: 'SIGKILL' });
    rmSync(CRASH, { force: true });

    // the second daemon takes it as a handed-off session: no --force, nobody to take it from
    const api2 = apiClientOf(d2.dataDir);
    const sv = await api2.serve(id);
    expect(sv).toMatchObject({ previous: null, took_over: true });
    expect(d1.logLines((l) => l.msg === 'handoff cut short by a crash finished: the session is released' && l.session === id)).toHaveLength(
      1,
    );
    const rec = (await api2.get(id)).session;
    expect(rec.served_by).toBe(sv.served_by);
    const m = await mount(d2.port, rec.export!);
    try {
      for (const f of apiFiles) expect(await readNfs(m, f.path), f.path).toBe(f.content);
      for (const [name, body] of nfs) expect(await readNfs(m, name), name).toBe(body);
    } finally {
      await m.client.close();
    }
    const tl = rec.timeline.map((e) => e.type);
    expect(tl.filter((t) => t === 'handed_off')).toHaveLength(1);
    expect(tl.filter((t) => t === 'served')).toHaveLength(1);
    // the first daemon no longer serves it
    await expect(
      apiClientOf(d1.dataDir).files(id, { files: [{ path: 'late.txt', change_type: 'added', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 409,
      body: { error: 'served_elsewhere' },
    });
  }, 60_000);

  it('the CLI, with the daemon still down, finishes it on first use of the session: shown handed off, served elsewhere without --force', async () => {
    const api = apiClientOf(d1.dataDir);
    const id = (await api.start({ goal: 'hand me off, then the CLI', project: P })).session.session_id;
    await api.files(id, { files: [{ path: 'cli.txt', change_type: 'added', content: 'before the crash\n' }] });
    writeFileSync(CRASH, 'handoff-recorded');
    await expect(api.handoff(id)).rejects.toThrow();
    rmSync(CRASH, { force: true });

    // no daemon serves the data dir: the CLI opens the store itself
    const r = await d1.mic(['session', 'show', id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout) as { session?: { served_by?: unknown }; served_by?: unknown };
    expect((shown.session ?? shown).served_by).toBeNull();
    expect(r.stderr).toContain('handoff cut short by a crash finished');

    const sv = await apiClientOf(d2.dataDir).serve(id); // no --force
    expect(sv).toMatchObject({ previous: null, took_over: true });
    const m = await mount(d2.port, `/exports/sessions/${id}`);
    try {
      expect(await readNfs(m, 'cli.txt')).toBe('before the crash\n');
    } finally {
      await m.client.close();
    }
    await d1.restart({ signal: 'SIGKILL' });
  }, 60_000);
});
