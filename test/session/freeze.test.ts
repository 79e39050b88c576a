// Issue 8 items 1 and 2: a landing or rebase freezes the session, and the freeze waits for the changes
// already in flight. Driven over the wire (NFSv3 client + HTTP API) against the in-process daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { lookupPath } from '../../src/session/history.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { seeded } from '../store/seeded.js';
import { makeProject, testDaemon, type TestDaemon } from './helpers.js';

let t: TestDaemon;
let client: Nfs3Client;
const MiB = 1024 * 1024;
const BIG = 8;

beforeAll(async () => {
  t = await testDaemon();
  client = await Nfs3Client.connect(t.d.port);
  const files: Record<string, Buffer | string> = { 'README.md': 'r\n' };
  for (let i = 0; i < BIG; i++) files[`big/b-${i}.bin`] = seeded(24 * MiB, i + 1);
  await makeProject(t.dataDir, 'frz/p', files);
});

afterAll(async () => {
  await client?.close();
  await t?.close();
});

async function mountSession(goal: string): Promise<{ id: string; root: Buffer }> {
  const s = (await t.api.start({ goal, project: 'frz/p' })).session;
  return { id: s.session_id, root: await client.mountRoot(s.export!) };
}

describe('freeze', () => {
  it('item 1: CREATEs acknowledged while a rebase runs are all in the rebased session', async () => {
    const { id, root } = await mountSession('rebase race');
    // the head moves, so the rebase has work to do
    const other = (await t.api.start({ goal: 'move head', project: 'frz/p' })).session.session_id;
    await t.api.files(other, { files: [{ path: 'other.txt', change_type: 'added', content: 'o\n' }] });
    await t.api.land(other, { message: 'other' });

    const acked: string[] = [];
    const refused = new Map<number, number>();
    let stop = false;
    let seq = 0;
    const creator = async () => {
      while (!stop) {
        const name = `c-${seq++}.txt`;
        const r = await client.create(root, name, { kind: 'guarded', attrs: { mode: 0o644 } });
        if (r.status === NfsStatus.OK) acked.push(name);
        else refused.set(r.status, (refused.get(r.status) ?? 0) + 1);
        if (r.status === NfsStatus.STALE) return; // never: the root's handle survives the rebase (rebase-handles.test.ts)
      }
    };
    const workers = [creator(), creator(), creator(), creator()];
    while (acked.length < 20) await client.null(); // creates are flowing before the rebase starts
    const out = await t.api.rebase(id);
    stop = true;
    await Promise.all(workers);
    expect(out.rebased).toBe(true);
    expect(acked.length).toBeGreaterThanOrEqual(20);

    // every acknowledged CREATE is in the rebased session (through a new mount and the old root handle)
    const root2 = await client.mountRoot(out.session.export!);
    const missing: string[] = [];
    for (const name of acked) if ((await client.lookup(root2, name)).status !== NfsStatus.OK) missing.push(name);
    expect(missing).toEqual([]);
    expect((await client.lookup(root2, 'other.txt')).status).toBe(NfsStatus.OK);
    expect(root2.equals(root)).toBe(true);
    expect(refused.has(NfsStatus.STALE)).toBe(false);
  });

  it('item 2: WRITEs waiting on copy-up when a landing starts are in the landed head, or refused', async () => {
    const { id, root } = await mountSession('land race');
    const big = (await client.lookup(root, 'big')).fh!;
    const fhs: Buffer[] = [];
    for (let i = 0; i < BIG; i++) fhs.push((await client.lookup(big, `b-${i}.bin`)).fh!);
    // one FILE_SYNC WRITE into each base file: each must copy its 24 MiB up first
    const marks = fhs.map((_, i) => Buffer.from(`written by client ${i}\n`));
    const writes = fhs.map((fh, i) => client.write(fh, 1000 + i, marks[i], StableHow.FILE_SYNC));
    // answered after every WRITE above was dispatched (one connection, in order): they are all in flight
    expect((await client.getattr(root)).status).toBe(NfsStatus.OK);
    const landed = await t.api.land(id, { message: 'land during copy-up' });
    const results = await Promise.all(writes);

    const store = openCatalog(t.dataDir).store('frz/p');
    const head = await store.getHead();
    expect(head!.hash).toBe(landed.head.hash);
    let acked = 0;
    for (let i = 0; i < BIG; i++) {
      const r = results[i];
      expect([NfsStatus.OK, NfsStatus.JUKEBOX, NfsStatus.STALE]).toContain(r.status);
      if (r.status !== NfsStatus.OK) continue;
      acked++;
      const e = await lookupPath(store, head!.record.tree, ['big', `b-${i}.bin`]);
      const content = await store.readBlob(e!.hash!, 1000 + i, marks[i].length);
      expect(content.toString()).toBe(marks[i].toString());
    }
    expect(acked).toBe(BIG); // they had passed their checks before the freeze: none may be refused
  });
});
