// SIGKILL of the daemon (its own process, dist/) while a landing is under way, at a different moment each
// round (land.ts: one write batch per attempt, tree.json and the head record written together before the
// head's compare-and-swap, the session's local state discarded once its record says landed). After each
// restart: an acknowledged landing is in the head with its files and its record says landed; an interrupted
// one either landed (the head names it once) or left the session active with its changes, and landing it
// again lands them once; fsck finds nothing missing or corrupt. An acknowledged landing has its audit entry
// (carried in the audit head by the compare-and-swap that acknowledges it), and the audit chain verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientOf, startDaemon, type Daemon } from '../lib/daemon.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { lookupPath } from '../../src/session/history.js';
import { fsck } from '../../src/session/fsck.js';
import { AuditLog } from '../../src/audit/audit-log.js';

const P = 'kill/app';
const ROUNDS = 8;
let d: Daemon;

beforeAll(async () => {
  d = await startDaemon({ args: ['--api-port', '0'] }); // not the default 2050: tests run side by side
  const r = await d.initProject(P, { 'README.md': 'r\n', 'shared/base.txt': 'b\n' });
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await d?.stop();
});

const files = (i: number) => [
  { path: `r${i}/a.txt`, change_type: 'added' as const, content: `a ${i}\n` },
  { path: `r${i}/deep/b.txt`, change_type: 'added' as const, content: `b ${i}\n`.repeat(50) },
  { path: `shared/s${i}.txt`, change_type: 'added' as const, content: `s ${i}\n` },
];

/** The content at path in the current head, or null. */
async function inHead(path: string): Promise<string | null> {
  const store = openCatalog(d.dataDir).store(P);
  const head = await store.getHead();
  const e = await lookupPath(store, head!.record.tree, path.split('/'));
  return e?.hash ? (await store.getBlob(e.hash)).toString() : null;
}

/** How many heads of the history name the session. */
async function headsOf(session: string): Promise<number> {
  const store = openCatalog(d.dataDir).store(P);
  let n = 0;
  for (let h = (await store.getHead())!.hash as string | null; h;) {
    const rec = await store.getHeadRecord(h);
    if (rec.session === session) n++;
    h = rec.parent;
  }
  return n;
}

describe('SIGKILL during a landing', () => {
  it(`every acknowledged landing survives, an interrupted one lands once (${ROUNDS} rounds)`, async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const api = apiClientOf(d.dataDir);
      const id = (await api.start({ goal: `round ${i}`, project: P })).session.session_id;
      await api.files(id, { files: files(i) });
      // a second session lands first on odd rounds: this landing then merges
      if (i % 2) {
        const other = (await api.start({ goal: `other ${i}`, project: P })).session.session_id;
        await api.files(other, { files: [{ path: `other/${i}.txt`, change_type: 'added', content: `${i}\n` }] });
        await api.land(other);
      }
      let acked = false;
      const landing = api.land(id).then(
        () => (acked = true),
        () => false,
      );
      await new Promise((r) => setTimeout(r, i * 12)); // 0, 12, ... 84 ms into the landing
      await d.restart({ signal: 'SIGKILL' });
      await landing;

      const after = apiClientOf(d.dataDir);
      const s = (await after.get(id)).session;
      if (acked) expect(s.status, `round ${i}: acknowledged`).toBe('landed');
      if (s.status !== 'landed') {
        expect(s.status).toBe('active');
        // its changes are all still there, and landing again lands them (finishing the interrupted one)
        const ch = await after.changes(id, { content: false });
        expect(ch.changes.map((c) => c.path).sort()).toEqual(
          files(i)
            .map((f) => f.path)
            .sort(),
        );
        await after.land(id);
        expect((await after.get(id)).session.status).toBe('landed');
      }
      outcomes.push(acked ? 'acked' : s.status === 'landed' ? 'landed-unacked' : 'active');
      for (const f of files(i)) expect(await inHead(f.path), `round ${i}: ${f.path}`).toBe(f.content);
      expect(await headsOf(id)).toBe(1);
      const check = await fsck(openCatalog(d.dataDir).backend, { projects: [P] });
      expect(check.problems, JSON.stringify(check.projects.map((p) => p.problems))).toBe(0);
      const audit = new AuditLog(openCatalog(d.dataDir).backend);
      const landed = await audit.query({ target: `session:${id}`, action: 'session.land' });
      if (acked) expect(landed.filter((e) => e.result === 'ok').length, `round ${i}: audit entry`).toBeGreaterThan(0);
      const v = await audit.verify();
      expect(v.problems).toEqual([]);
    }
    // the moments were spread: not every round was acknowledged before the kill
    expect(outcomes.filter((o) => o !== 'acked').length, outcomes.join(',')).toBeGreaterThan(0);
  }, 180_000);
});
