// A landing interrupted after its compare-and-swap (a crash) leaves the head naming the session while the
// record says active. Changes made to the session after that must land on top, not be dropped by
// "finishing" the earlier landing. In-process (SessionService + DirectHost), the store's own API.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { DirectHost } from '../../src/session/host.js';
import { SessionService } from '../../src/session/service.js';
import { lookupPath } from '../../src/session/history.js';
import { sealSession } from '../../src/session/seal.js';
import { mergeTrees } from '../../src/session/merge.js';
import { makeProject, tempDir } from './helpers.js';

async function setup() {
  const dataDir = await tempDir();
  await makeProject(dataDir, 'r/p', { 'a.txt': 'a\n' });
  const catalog = openCatalog(dataDir);
  const host = new DirectHost(catalog, dataDir, randomBytes(32));
  return { catalog, host, svc: new SessionService({ catalog, host, dataDir }), store: catalog.store('r/p') };
}

const add = (path: string, content: string) => ({ files: [{ path, change_type: 'added' as const, content }] });

async function content(t: Awaited<ReturnType<typeof setup>>, path: string): Promise<string | null> {
  const head = (await t.store.getHead())!;
  const e = await lookupPath(t.store, head.record.tree, path.split('/'));
  return e?.hash ? (await t.store.getBlob(e.hash)).toString() : null;
}

/** What a crash right after the landing's compare-and-swap leaves behind. */
async function interruptedLanding(t: Awaited<ReturnType<typeof setup>>, id: string): Promise<void> {
  const r = (await t.catalog.get(id))!;
  const sealed = await sealSession(await t.host.open(r), t.store, r.base);
  const H = (await t.store.getHead())!;
  const m = H.hash === r.base.head ? sealed : await mergeTrees(t.store, r.base, sealed, H.record);
  const rec = { tree: m.tree, nextIno: m.nextIno, parent: H.hash, session: id, message: 'first try', time: new Date().toISOString() };
  expect(await t.store.casHead(H.version, H.ref.generation, rec)).toBe(true);
}

describe('a landing interrupted after its compare-and-swap', () => {
  it('fast-forward: what the session changed afterwards lands on top', async () => {
    const t = await setup();
    const id = (await t.svc.start({ goal: 'ff', project: 'r/p' })).session.session_id;
    await t.svc.files(id, add('b.txt', 'b\n'));
    await interruptedLanding(t, id);
    await t.svc.files(id, add('c.txt', 'c\n'));
    const landed = await t.svc.land(id);
    expect(landed.session.status).toBe('landed');
    expect(await content(t, 'b.txt')).toBe('b\n');
    expect(await content(t, 'c.txt')).toBe('c\n');
    expect((await t.svc.log('r/p')).heads.map((h) => h.session)).toEqual([id, id, null]);
    await t.host.closeAll();
  });

  it('merged with another landing: what the session changed afterwards lands on top, the other landing stays', async () => {
    const t = await setup();
    const id = (await t.svc.start({ goal: 'merged', project: 'r/p' })).session.session_id;
    const other = (await t.svc.start({ goal: 'other', project: 'r/p' })).session.session_id;
    await t.svc.files(other, add('o.txt', 'o\n'));
    await t.svc.land(other);
    await t.svc.files(id, add('b.txt', 'b\n'));
    await interruptedLanding(t, id);
    await t.svc.files(id, add('c.txt', 'c\n'));
    const landed = await t.svc.land(id);
    expect(landed.session.status).toBe('landed');
    expect(await content(t, 'o.txt')).toBe('o\n');
    expect(await content(t, 'c.txt')).toBe('c\n');
    expect(await content(t, 'a.txt')).toBe('a\n');
    expect(await content(t, 'b.txt')).toBe('b\n');
    await t.host.closeAll();
  });
});
