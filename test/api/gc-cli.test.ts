// `mic gc` as a subprocess of the compiled CLI: --dry-run --json lists the orphans and deletes nothing,
// then mic gc deletes those past the grace period and keeps the rest.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { runMic } from '../lib/daemon.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { objectRelKey } from '../../src/store/index.js';
import { http, makeProject, tempDir, testDaemon } from '../session/helpers.js';

describe('mic gc', () => {
  it('--dry-run --json lists orphans; gc deletes the old ones', async () => {
    const dataDir = await tempDir('micfs-gc-cli-');
    await makeProject(dataDir, 'acme/gc', { 'a.txt': 'a\n', 'd/b.txt': 'b\n' });
    await makeProject(dataDir, 'acme/other', { 'x.txt': 'x\n' });
    const store = openCatalog(dataDir).store('acme/gc');
    const oldOrphan = await store.putBlob(Buffer.from('old orphan'));
    const youngOrphan = await store.putBlob(Buffer.from('young orphan'));
    const file = (h: string) => join(dataDir, 'objects', store.key(objectRelKey('blobs', h)));
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(file(oldOrphan), twoDaysAgo, twoDaysAgo);

    const dry = await runMic(['gc', '--dry-run', '--json', '--grace', '1h', '--data-dir', dataDir]);
    expect(dry.code, dry.stderr).toBe(0);
    const body = JSON.parse(dry.stdout);
    expect(body).toMatchObject({
      dry_run: true,
      grace_ms: 3_600_000,
      totals: { deleted: { objects: 1 }, young: { objects: 1 }, refused: 0 },
    });
    expect(body.projects.map((p: { project: string }) => p.project)).toEqual(['acme/gc', 'acme/other']);
    const gc = body.projects[0];
    expect(gc.objects).toHaveLength(1);
    expect(gc.objects[0]).toMatchObject({ key: store.key(objectRelKey('blobs', oldOrphan)) });
    expect(gc.objects[0].age_ms).toBeGreaterThan(86_400_000);
    expect(gc.heads).toBe(1);
    expect(body.projects[1].deleted.objects).toBe(0);
    expect(existsSync(file(oldOrphan))).toBe(true);

    const text = await runMic(['gc', '--dry-run', '--grace', '0', '--project', 'acme/gc', '--data-dir', dataDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('would delete 2');
    expect(text.stdout).toContain(oldOrphan);
    expect(text.stdout).toContain(youngOrphan);

    const real = await runMic(['gc', '--data-dir', dataDir]); // default grace: 24h
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/acme\/gc: .*deleted 1 /);
    expect(existsSync(file(oldOrphan))).toBe(false);
    expect(existsSync(file(youngOrphan))).toBe(true);
    const head = (await store.getHead())!;
    expect((await store.listDir(head.record.tree)).map((e) => e.name).sort()).toEqual(['a.txt', 'd']);
    expect((await store.getBlob((await store.lookupDir(head.record.tree, 'a.txt'))!.hash!)).toString()).toBe('a\n');

    const bad = await runMic(['gc', '--grace', 'soon', '--data-dir', dataDir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a duration/);
  });

  it('POST /api/gc on a running daemon', async () => {
    const t = await testDaemon();
    try {
      await makeProject(t.dataDir, 'acme/api', { 'a.txt': 'a\n' });
      const id = (await t.api.start({ goal: 'live', project: 'acme/api' })).session.session_id;
      const store = openCatalog(t.dataDir).store('acme/api');
      const orphan = await store.putBlob(Buffer.from('api orphan'));
      const key = store.key(objectRelKey('blobs', orphan));

      expect((await http(t.url, 'POST', '/api/gc', { grace: 'soon' })).body).toMatchObject({ error: 'invalid_input', field: 'grace' });
      expect((await http(t.url, 'POST', '/api/gc', { project: 'nope' })).status).toBe(400);
      const young = await http(t.url, 'POST', '/api/gc', {});
      expect(young.status).toBe(200);
      expect(young.body).toMatchObject({
        dry_run: false,
        grace_ms: 86_400_000,
        totals: { deleted: { objects: 0 }, young: { objects: 1 } },
      });
      const dry = await http(t.url, 'POST', '/api/gc', { dry_run: true, grace: '0', project: 'acme/api' });
      expect(dry.body.projects[0]).toMatchObject({ project: 'acme/api', sessions: 1, objects: [{ key }] });
      expect(existsSync(join(t.dataDir, 'objects', key))).toBe(true);
      expect((await http(t.url, 'POST', '/api/gc', { grace: 0 })).body).toMatchObject({ error: 'invalid_input', field: 'grace' });
      const real = await http(t.url, 'POST', '/api/gc', { grace: 0, force: true });
      expect(real.body.totals.deleted.objects).toBe(1);
      expect(existsSync(join(t.dataDir, 'objects', key))).toBe(false);
      expect((await t.api.get(id)).session.status).toBe('active');
    } finally {
      await t.close();
    }
  });
});
