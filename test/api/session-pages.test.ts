// GET /api/sessions in pages: newest first, a cursor that stays valid while sessions are started, landed
// and removed between pages (session/session-index.ts), a filtered page whose scan is bounded, the live
// statuses through the live index with the same cursors, a data dir from before the index, and `mic
// session list --cursor / --all` against the daemon. A real daemon over HTTP; the store's own files.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { runMic } from '../lib/daemon.js';
import { http, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';

let t: TestDaemon;
const P = 'pages/app';

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, P, { 'README.md': 'r\n' });
});

afterAll(async () => {
  await t?.close();
});

type Row = { session_id: string; started_at: string; status: string };
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const newestFirst = <T extends Row>(l: T[]) => [...l].sort((a, b) => cmp(b.started_at, a.started_at) || cmp(a.session_id, b.session_id));
const ids = (l: Row[]) => l.map((s) => s.session_id);

async function page(query: string): Promise<{ sessions: Row[]; next_cursor: string | null; total: number | null }> {
  const r = await http(t.url, 'GET', `/api/sessions?project=${P}&${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

const start = async (goal: string, tags: string[] = []) => (await t.api.start({ goal, project: P, tags })).session as Row;
const land = async (id: string, path: string) => {
  await t.api.files(id, { files: [{ path, change_type: 'added', content: `${path}\n` }] });
  await t.api.land(id);
};

describe('session list pages', () => {
  const first: Row[] = [];

  it('pages newest first; sessions started, landed and removed between pages neither repeat nor shift the pages', async () => {
    for (let i = 0; i < 10; i++) first.push(await start(`s${i}`, i === 0 ? ['oldest'] : []));
    await land(first[1]!.session_id, 'one.txt');
    const expected = ids(newestFirst(first));

    const seen: Row[] = [];
    let cursor: string | null = null;
    let n = 0;
    let deleted = '';
    do {
      const p = await page(`limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(p.total).toBeNull();
      expect(p.sessions.length).toBeLessThanOrEqual(3);
      seen.push(...p.sessions);
      cursor = p.next_cursor;
      // between pages: a new session (newer than every cursor: never on a later page), a landing of one
      // not shown yet and of one shown already, and a DELETE (abandoned: the record stays) of one not shown yet
      const later = expected.filter((id) => !ids(seen).includes(id));
      await start(`between ${n}`);
      if (later[0] && n < 2) await land(later[0], `later-${n}.txt`);
      if (n === 0) await land(seen[0]!.session_id, 'shown.txt');
      if (n === 1 && later[1]) {
        expect((await http(t.url, 'DELETE', `/api/sessions/${later[1]}`)).status).toBe(200);
        deleted = later[1];
      }
      n++;
    } while (cursor);
    expect(ids(seen)).toEqual(expected);
    expect(n).toBe(4); // 3 + 3 + 3 + 1
    expect(seen.find((s) => s.session_id === deleted)?.status).toBe('abandoned');
    // the landings between pages show on the pages read after them
    const landedLater = seen.filter((s) => s.status === 'landed').length;
    expect(landedLater).toBeGreaterThanOrEqual(2);
    // the whole list now: everything, newest first, in one page
    const all = await page('limit=1000');
    expect(ids(all.sessions)).toEqual(ids(newestFirst(all.sessions)));
    expect(all.sessions.length).toBe(expected.length + 4);
    // a session removed for good (purged: a refused single-shot create) leaves no entry behind
    const refused = await http(t.url, 'POST', '/api/sessions', {
      goal: 'refused',
      project: P,
      session_id: 'refused-1',
      files: [{ path: 'README.md/x', change_type: 'added', content: '' }],
    });
    expect(refused.status).toBe(400);
    expect(ids((await page('limit=1000')).sessions)).not.toContain('refused-1');
    const keys = readdirSync(join(t.dataDir, 'objects', 'index', 'recent'), { recursive: true }).map(String);
    expect(keys.some((k) => k.endsWith('-refused-1'))).toBe(false);
  });

  it('?status=active pages through the live index with the same cursors, and says how many', async () => {
    const active = (await page('status=active&limit=1000')).sessions;
    expect(active.length).toBeGreaterThan(4);
    const p1 = await page('status=active&limit=2');
    expect(p1.total).toBe(active.length);
    expect(ids(p1.sessions)).toEqual(ids(active).slice(0, 2));
    // one of the next page lands meanwhile: it is not active any more, the rest follows unchanged
    await land(active[2]!.session_id, 'active-2.txt');
    const p2 = await page(`status=active&limit=1000&cursor=${p1.next_cursor}`);
    expect(ids(p2.sessions)).toEqual(ids(active).slice(3));
    expect(p2.next_cursor).toBeNull();
    // a cursor of the full list works on the active list too (same order, same names)
    const full1 = await page('limit=1');
    expect(ids((await page(`status=active&limit=1000&cursor=${full1.next_cursor}`)).sessions)).toEqual(
      ids(active.filter((s) => s.session_id !== active[2]!.session_id && newestFirst([s, full1.sessions[0]!])[0] !== s)),
    );
  });

  it('a filter that matches rarely answers bounded pages with a cursor until it finds its sessions', async () => {
    const catalog = openCatalog(t.dataDir);
    const oldest = first[0]!.session_id;
    let after: string | undefined;
    const found: string[] = [];
    let pages = 0;
    for (;;) {
      const p = await catalog.page({ after, limit: 5, scan: 4, match: (r) => r.tags.includes('oldest') });
      found.push(...p.records.map((r) => r.session_id));
      pages++;
      if (!p.next) break;
      after = p.next;
    }
    expect(found).toEqual([oldest]);
    expect(pages).toBeGreaterThan(3); // each page looked at 4 records at most
    expect(ids((await page('tag=oldest')).sessions)).toEqual([oldest]);
  });

  it('a data dir from before the index is indexed on its first listing', async () => {
    const before = ids((await page('limit=1000')).sessions);
    await t.close();
    const objects = join(t.dataDir, 'objects');
    rmSync(join(objects, 'index', 'recent'), { recursive: true, force: true });
    rmSync(join(objects, 'index', 'recent-built'), { force: true });
    t = await testDaemon({ dataDir: t.dataDir });
    expect(ids((await page('limit=1000')).sessions)).toEqual(before);
    expect(existsSync(join(objects, 'index', 'recent-built'))).toBe(true);
    const keys = readdirSync(join(objects, 'index', 'recent'), { recursive: true }).filter((k) => String(k).includes('-'));
    expect(keys.length).toBeGreaterThanOrEqual(before.length);
  });

  it('mic session list pages with --cursor and --all', async () => {
    const all = ids((await page('limit=1000')).sessions);
    const mic = async (...args: string[]) => {
      const r = await runMic(['session', 'list', '--project', P, '--data-dir', t.dataDir, ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const p1 = JSON.parse(await mic('--limit', '4', '--json'));
    expect(ids(p1.sessions)).toEqual(all.slice(0, 4));
    const table = await mic('--limit', '4', '--cursor', p1.next_cursor);
    expect(table.split('\n')[0]).toMatch(/^ID\s+STATUS\s+PROJECT\s+STARTED\s+CHANGES\s+GOAL$/);
    expect(table).toContain(all[4]);
    expect(table).not.toContain(all[3]);
    expect(table).toMatch(/next page: --cursor \S+/);
    expect(ids(JSON.parse(await mic('--limit', '3', '--all', '--json')).sessions)).toEqual(all);
  });
});
