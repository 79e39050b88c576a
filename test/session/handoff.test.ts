// Handoff in-process: two data dirs (two DirectHosts) over one local object store, and the background
// sealer's timing against a fake clock.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { Catalog } from '../../src/session/catalog.js';
import { LocalBackend } from '../../src/store/local-backend.js';
import { DirectHost } from '../../src/session/host.js';
import { SessionService } from '../../src/session/service.js';
import { BackgroundSealer } from '../../src/session/sealer.js';
import type { SessionState } from '../../src/core/session-state.js';
import { makeProject, silent, tempDir } from './helpers.js';

async function node(objects: string) {
  const dataDir = await tempDir();
  const catalog = new Catalog(new LocalBackend(objects));
  const host = new DirectHost(catalog, dataDir, randomBytes(32));
  return { dataDir, host, svc: new SessionService({ catalog, host, dataDir }) };
}

const add = (path: string, content: string) => ({ files: [{ path, change_type: 'added' as const, content }] });

describe('handoff between data dirs', () => {
  it('moves a session with its changes; ownership is exclusive; landing diffs against the base', async () => {
    const first = await tempDir();
    await makeProject(first, 'h/p', { 'a.txt': 'a\n' });
    const objects = join(first, 'objects');
    const [n1, n2] = [await node(objects), await node(objects)];
    expect(n1.host.owners.node).not.toBe(n2.host.owners.node);

    const s = (await n1.svc.start({ goal: 'move me', project: 'h/p' })).session;
    const id = s.session_id;
    await n1.svc.files(id, add('one.txt', '1\n'));
    await expect(n2.svc.files(id, add('x.txt', 'x'))).rejects.toMatchObject({ kind: 'state', body: { error: 'served_elsewhere' } });
    await expect(n2.svc.handoff(id)).rejects.toMatchObject({ kind: 'state', body: { error: 'served_elsewhere' } });
    expect((await n2.svc.get(id)).session.served_by).toBe(n1.host.owners.node);

    const h = await n1.svc.handoff(id);
    expect(h.handed_off_by).toBe(n1.host.owners.node);
    expect(existsSync(join(n1.dataDir, 'sessions', id))).toBe(false);
    expect(n1.host.served(id)).toBeUndefined();
    await expect(n1.svc.handoff(id)).rejects.toMatchObject({ kind: 'state', body: { error: 'handed_off' } });
    await expect(n2.svc.land(id)).rejects.toMatchObject({ kind: 'state', body: { error: 'handed_off' } });
    expect((await n2.svc.changes(id)).changes.map((c) => c.path)).toEqual(['one.txt']);

    const sv = await n2.svc.serve(id);
    expect(sv).toMatchObject({ served_by: n2.host.owners.node, previous: null, took_over: true, tree: h.tree });
    expect((await n2.svc.serve(id)).took_over).toBe(false);
    await n2.svc.files(id, add('two.txt', '2\n'));
    const landed = await n2.svc.land(id);
    expect(landed.head.parent).toBe(s.base_head);
    expect(landed.session.changes).toMatchObject({ total: 2, added: 2 });
    const show = await n1.svc.showHead('h/p', landed.head.hash);
    expect(show.changes.map((c) => c.path).sort()).toEqual(['one.txt', 'two.txt']);
  });

  it('abandoning a handed-off session keeps its recorded tree', async () => {
    const first = await tempDir();
    await makeProject(first, 'h/q', { 'a.txt': 'a\n' });
    const [n1, n2] = [await node(join(first, 'objects')), await node(join(first, 'objects'))];
    const id = (await n1.svc.start({ goal: 'drop me', project: 'h/q' })).session.session_id;
    await n1.svc.files(id, add('b.txt', 'b\n'));
    await n1.svc.handoff(id);
    const out = await n2.svc.abandon(id);
    expect(out.session).toMatchObject({ status: 'abandoned', changes: { total: 1, added: 1 } });
  });
});

describe('background sealer', () => {
  it('seals a changed session after the delay, not while changes keep coming (up to 10 delays), never when idle', async () => {
    let t = 0;
    const fs = { generation: 0, changedInodes: () => [] } as unknown as SessionState & { generation: number };
    const sealed: number[] = [];
    const s = new BackgroundSealer({
      target: { servedIds: () => ['x'], served: () => fs },
      seal: async () => {
        sealed.push(t);
        return true;
      },
      delayMs: 1000,
      log: silent,
      now: () => t,
    });
    await s.tick(); // first sight: clean
    t = 5000;
    await s.tick();
    expect(sealed).toEqual([]);
    fs.generation++;
    t = 5100;
    await s.tick();
    t = 5600;
    await s.tick();
    expect(sealed).toEqual([]); // not quiet long enough
    t = 6200;
    await s.tick();
    expect(sealed).toEqual([6200]);
    t = 9000;
    await s.tick();
    expect(sealed).toEqual([6200]); // idle
    // a change every 500 ms: sealed at the latest 10 delays after the first unsealed one
    for (t = 10_000; t <= 25_000; t += 500) {
      fs.generation++;
      await s.tick();
    }
    expect(sealed).toEqual([6200, 20_000]);
  });
});
