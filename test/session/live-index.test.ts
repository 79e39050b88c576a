// The live-session index (catalog.ts, index/live/<id>): what concerns only live sessions (MOUNT EXPORT,
// GET /api/sessions?status=active|suspended, start-up preloading) reads the markers of live sessions, not
// every record ever written. The markers must follow the records through start, suspend, land, abandon and
// restarts; a data dir from before the index is indexed on first use; a stale marker is dropped. An ended
// session's marker is removed behind the call's answer (a stale one is harmless: it is read past and removed).
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nfs3Client, MountStat } from '../lib/nfs3-client.js';
import { makeProject, testDaemon, type TestDaemon } from './helpers.js';
import { until } from '../lib/until.js';

let t: TestDaemon;
let nfs: Nfs3Client;

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'live/app', { 'README.md': 'readme\n' });
  nfs = await Nfs3Client.connect(t.d.port);
});

afterAll(async () => {
  await nfs?.close();
  await t?.close();
});

const liveDir = () => join(t.dataDir, 'objects', 'index', 'live');
const markers = () =>
  existsSync(liveDir())
    ? readdirSync(liveDir())
        .filter((n) => !n.includes('~'))
        .sort()
    : [];
const ids = (l: { sessions: { session_id: string }[] }) => l.sessions.map((s) => s.session_id).sort();
// the session exports (EXPORT lists each project's read-only head snapshot too: session/snapshots.ts)
const exported = async () =>
  (await nfs.exports())
    .map((e) => e.path)
    .filter((p) => p.startsWith('/exports/sessions/'))
    .sort();
const exportOf = (id: string) => `/exports/sessions/${id}`;

describe('live-session index', () => {
  let active: string, suspended: string, landed: string, abandoned: string;

  it('follows start, suspend, land and abandon: EXPORT and ?status= list exactly the live sessions', async () => {
    const start = async (goal: string) => (await t.api.start({ goal, project: 'live/app' })).session.session_id;
    [active, suspended, landed, abandoned] = [await start('a'), await start('s'), await start('l'), await start('x')];
    await t.api.files(landed, { files: [{ path: 'landed.txt', change_type: 'added', content: 'x\n' }] });
    await t.api.land(landed);
    await t.api.abandon(abandoned);
    await t.api.suspend(suspended);

    // an ended session's marker is removed behind the answer (catalog.ts unmarkBehind)
    await until(() => markers().length === 2);
    expect(markers()).toEqual([active, suspended].sort());
    expect(ids(await t.api.list({ status: 'active' }))).toEqual([active]);
    expect(ids(await t.api.list({ status: 'suspended' }))).toEqual([suspended]);
    expect(ids(await t.api.list({ status: 'landed' }))).toEqual([landed]);
    expect(ids(await t.api.list({}))).toEqual([active, suspended, landed, abandoned].sort());
    expect(await exported()).toEqual([exportOf(active), exportOf(suspended)].sort());
    expect((await nfs.mnt(exportOf(landed))).status).toBe(MountStat.NOENT);
    expect((await nfs.mnt(exportOf(active))).status).toBe(MountStat.OK);
  });

  it('a data dir from before the index is indexed on start-up; its live sessions are exported again', async () => {
    await nfs.close();
    await t.close();
    rmSync(liveDir(), { recursive: true, force: true });
    rmSync(join(t.dataDir, 'objects', 'index', 'live-built'), { force: true });
    t = await testDaemon({ dataDir: t.dataDir });
    nfs = await Nfs3Client.connect(t.d.port);
    expect(markers()).toEqual([active, suspended].sort());
    expect(await exported()).toEqual([exportOf(active), exportOf(suspended)].sort());
    expect(ids(await t.api.list({ status: 'active' }))).toEqual([active]);
    expect((await nfs.mnt(exportOf(active))).status).toBe(MountStat.OK);
  });

  it('a stale marker (a session that ended elsewhere) is not listed, and is removed', async () => {
    writeFileSync(join(liveDir(), landed), 'live/app');
    writeFileSync(join(liveDir(), abandoned), 'live/app');
    expect(ids(await t.api.list({ status: 'active' }))).toEqual([active]);
    expect(await exported()).toEqual([exportOf(active), exportOf(suspended)].sort());
    expect(markers()).toEqual([active, suspended].sort());
  });

  it('a resumed session is active again; landing it removes its marker', async () => {
    await t.api.resume(suspended);
    expect(ids(await t.api.list({ status: 'active' }))).toEqual([active, suspended].sort());
    await t.api.land(suspended);
    await until(() => markers().length === 1);
    expect(markers()).toEqual([active]);
    expect(await exported()).toEqual([exportOf(active)]);
  });
});
