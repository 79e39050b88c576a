// Landing in-process (SessionService + DirectHost): recovery of an interrupted landing, empty sessions,
// and unique fileids after merging sessions that both created files.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { DirectHost } from '../../src/session/host.js';
import { SessionService } from '../../src/session/service.js';
import { sealSession } from '../../src/session/seal.js';
import { EMPTY_TREE, type ObjectStore } from '../../src/store/index.js';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startDaemon } from '../../src/daemon/daemon.js';
import { sessionDir, trashDir } from '../../src/session/host.js';
import { until } from '../lib/until.js';
import { makeProject, tempDir } from './helpers.js';

async function setup() {
  const dataDir = await tempDir();
  await makeProject(dataDir, 'l/p', { 'a.txt': 'a\n', 'dir/b.txt': 'b\n' });
  const catalog = openCatalog(dataDir);
  const host = new DirectHost(catalog, dataDir, randomBytes(32));
  return { dataDir, catalog, host, svc: new SessionService({ catalog, host, dataDir }), store: catalog.store('l/p') };
}

async function allInos(store: ObjectStore, tree: string, out: number[] = []): Promise<number[]> {
  for (const e of await store.listDir(tree)) {
    out.push(e.ino);
    if (e.kind === 'dir') await allInos(store, e.hash ?? EMPTY_TREE, out);
  }
  return out;
}

describe('landing', () => {
  it('finishes a landing that moved the head but stopped before recording it', async () => {
    const t = await setup();
    const id = (await t.svc.start({ goal: 'interrupted', project: 'l/p' })).session.session_id;
    await t.svc.files(id, { files: [{ path: 'c.txt', change_type: 'added', content: 'c\n' }] });
    // what a crash right after the compare-and-swap leaves: the head names the session, the record says active
    const r = (await t.catalog.get(id))!;
    const sealed = await sealSession(await t.host.open(r), t.store, r.base);
    const H = (await t.store.getHead())!;
    const rec = {
      tree: sealed.tree,
      nextIno: sealed.nextIno,
      parent: H.hash,
      session: id,
      message: 'first try',
      time: new Date().toISOString(),
    };
    expect(await t.store.casHead(H.version, H.ref.generation, rec)).toBe(true);
    const moved = (await t.store.getHead())!.hash;
    expect((await t.svc.get(id)).session.status).toBe('active');

    const landed = await t.svc.land(id);
    expect(landed.head.hash).toBe(moved); // no second head
    expect(landed.session).toMatchObject({ status: 'landed', landed_head: moved, changes: { total: 1, added: 1 } });
    expect((await t.svc.log('l/p')).heads.map((h) => h.session)).toEqual([id, null]);
    await t.host.closeAll();
  });

  it('an untouched session lands as a head with the same tree that names the session', async () => {
    const t = await setup();
    const before = (await t.store.getHead())!;
    const id = (await t.svc.start({ goal: 'nothing', project: 'l/p' })).session.session_id;
    const landed = await t.svc.land(id, { message: 'no-op' });
    expect(landed.head).toMatchObject({ tree: before.record.tree, parent: before.hash, session: id, message: 'no-op' });
    expect(landed.session.changes).toEqual({ total: 0, added: 0, modified: 0, deleted: 0 });
    await t.host.closeAll();
  });

  it('sessions that each created files land with unique fileids, and nextIno past all of them', async () => {
    const t = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = (await t.svc.start({ goal: `s${i}`, project: 'l/p' })).session.session_id;
      await t.svc.files(id, {
        files: [
          { path: `dir/new-${i}/x.txt`, change_type: 'added', content: `${i}\n` },
          { path: `top-${i}.txt`, change_type: 'added', content: `${i}\n` },
        ],
      });
      ids.push(id);
    }
    for (const id of ids) await t.svc.land(id);
    const head = (await t.store.getHead())!.record;
    const inos = await allInos(t.store, head.tree);
    expect(inos).toHaveLength(3 + 4 * 3); // a.txt, dir, dir/b.txt + per session: dir/new-i, its x.txt, top-i
    expect(new Set(inos).size).toBe(inos.length);
    expect(head.nextIno).toBeGreaterThan(Math.max(...inos));
    await t.host.closeAll();
  });

  it("a landed session's directory leaves sessions/ at its answer and is removed behind it; a crash's leftovers in the trash go at the next start", async () => {
    const t = await setup();
    const id = (await t.svc.start({ goal: 'trash', project: 'l/p' })).session.session_id;
    await t.svc.files(id, { files: [{ path: 'c.txt', change_type: 'added', content: 'c\n' }] });
    expect(existsSync(sessionDir(t.dataDir, id))).toBe(true);
    await t.svc.land(id);
    expect(existsSync(sessionDir(t.dataDir, id))).toBe(false);
    await until(() => !existsSync(trashDir(t.dataDir)) || readdirSync(trashDir(t.dataDir)).length === 0);
    // what a crash between the rename and the removal leaves: a directory in the trash
    const left = join(trashDir(t.dataDir), 'sess-000000000000-0badf00d');
    mkdirSync(join(left, 'data'), { recursive: true });
    writeFileSync(join(left, 'data', 'f'), 'x');
    const d = await startDaemon({
      dataDir: t.dataDir,
      bind: '127.0.0.1',
      port: 0,
      allow: ['127.0.0.0/8'],
      log: pino({ level: 'silent' }),
      apiPort: null,
    });
    try {
      await until(() => !existsSync(left));
      expect(existsSync(left)).toBe(false);
    } finally {
      await d.close();
    }
  });
});
