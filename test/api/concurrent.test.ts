// Eight sessions landing onto one head at the same time, over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/client.js';
import { makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';

let t: TestDaemon;
const N = 8;

beforeAll(async () => {
  t = await testDaemon();
  const files: Record<string, string> = { 'README.md': 'r\n' };
  for (let i = 0; i < N; i++) files[`mods/m-${i}.txt`] = `m${i}\n`;
  for (let p = 0; p < N / 2; p++) files[`pairs/p-${p}.txt`] = `pair ${p} base\n`;
  await makeProject(t.dataDir, 'race/disjoint', files);
  await makeProject(t.dataDir, 'race/overlap', files);
});

afterAll(async () => {
  await t?.close();
});

async function content(project: string, path: string): Promise<string | null> {
  try {
    const b = await t.api.blame(project, path);
    const show = await t.api.showHead(project, b.head.hash);
    const c = show.changes.find((x) => x.path === path);
    return c?.hash ? (await t.api.blob(project, c.hash)).toString() : null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

describe('eight sessions landing at once', () => {
  it('with disjoint changes, all eight land and the head holds every change', async () => {
    const P = 'race/disjoint';
    const base = (await t.api.head(P)).head.hash;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const id = (await t.api.start({ goal: `disjoint ${i}`, project: P })).session.session_id;
      await t.api.files(id, {
        files: [
          { path: `new/n-${i}.txt`, change_type: 'added', content: `new ${i}\n` },
          { path: `mods/m-${i}.txt`, change_type: 'modified', content: `m${i} changed\n` },
        ],
      });
      ids.push(id);
    }
    const results = await Promise.allSettled(ids.map((id) => t.api.land(id, { message: `land ${id}` })));
    expect(results.map((r) => r.status)).toEqual(Array(N).fill('fulfilled'));
    const landed = results.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof t.api.land>>>).value);
    expect(landed.reduce((n, l) => n + l.attempts, 0)).toBeGreaterThanOrEqual(N); // contention was retried, not failed

    // a linear chain of eight new heads above the base, one per session
    const log = await t.api.log(P, { limit: N + 1 });
    expect(log.heads[N].hash).toBe(base);
    expect(new Set(log.heads.slice(0, N).map((h) => h.session))).toEqual(new Set(ids));
    for (let i = 0; i < N; i++) expect(log.heads[i].parent).toBe(log.heads[i + 1].hash);

    // every change is in the head, attributed to its session
    for (let i = 0; i < N; i++) {
      expect((await t.api.blame(P, `new/n-${i}.txt`)).session?.session_id).toBe(ids[i]);
      expect((await t.api.blame(P, `mods/m-${i}.txt`)).session?.session_id).toBe(ids[i]);
      expect(await content(P, `mods/m-${i}.txt`)).toBe(`m${i} changed\n`);
    }
    // and a new session starts from it
    const next = (await t.api.start({ goal: 'after', project: P })).session;
    expect(next.base_head).toBe(log.heads[0].hash);
  });

  it('with overlapping changes, exactly one side of each conflict wins; the other gets 409 with the conflicts', async () => {
    const P = 'race/overlap';
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const pair = Math.floor(i / 2);
      const id = (await t.api.start({ goal: `overlap ${i}`, project: P })).session.session_id;
      await t.api.files(id, {
        files: [
          { path: `pairs/p-${pair}.txt`, change_type: 'modified', content: `pair ${pair} by session ${i}\n` },
          { path: `own/o-${i}.txt`, change_type: 'added', content: `own ${i}\n` },
        ],
      });
      ids.push(id);
    }
    const results = await Promise.allSettled(ids.map((id) => t.api.land(id)));
    for (let pair = 0; pair < N / 2; pair++) {
      const [r0, r1] = [results[2 * pair], results[2 * pair + 1]];
      const won = [r0, r1].filter((r) => r.status === 'fulfilled');
      expect(won, `pair ${pair}`).toHaveLength(1);
      const winner = r0.status === 'fulfilled' ? 2 * pair : 2 * pair + 1;
      const loser = winner ^ 1;
      const lost = results[loser] as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(ApiError);
      expect(lost.reason.status).toBe(409);
      expect(lost.reason.body.error).toBe('conflict');
      expect(lost.reason.body.conflicts.map((c: { path: string; kind: string }) => [c.path, c.kind])).toEqual([
        [`pairs/p-${pair}.txt`, 'modify/modify'],
      ]);
      // the winner's version is in the head; the loser is still active with nothing of it landed
      expect(await content(P, `pairs/p-${pair}.txt`)).toBe(`pair ${pair} by session ${winner}\n`);
      expect((await t.api.blame(P, `own/o-${winner}.txt`)).session?.session_id).toBe(ids[winner]);
      expect(await content(P, `own/o-${loser}.txt`)).toBeNull();
      const l = (await t.api.get(ids[loser])).session;
      expect(l.status).toBe('active');
      expect(l.timeline.some((e) => e.type === 'land_conflict')).toBe(true);
    }
    const heads = (await t.api.log(P, { limit: 100 })).heads;
    expect(heads.filter((h) => h.session).length).toBe(N / 2);
  });
});
