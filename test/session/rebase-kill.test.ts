// SIGKILL of the daemon (its own process, dist/) while a rebase is under way, at a different moment each
// round: at the daemon's crash points (MIC_CRASH_FILE, util/crash-point.ts: inside the rebuild, once the
// rebuilt state is durable, once the record names it, between the two renames of the swap) and after a
// delay. NFS writes are in flight when the rebase starts (the session freezes). After each
// restart the session's record and its files agree: on the old base without the head's new file (the rebase
// did not happen) or on the new head with it and the add/add conflict's markers (it did), and every change
// acknowledged before the rebase (API files, NFS CREATE + FILE_SYNC WRITE) is there with its content.
// Rebasing again then works, and fsck finds nothing. Last, a kill while a handed-off session is served again
// (its state directory created from its recorded tree).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientOf, startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { nfsCat } from '../lib/libnfs.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { fsck } from '../../src/session/fsck.js';

const P = 'rbk/app';
const crashDir = mkdtempSync(join(tmpdir(), 'mic-crash-'));
const CRASH = join(crashDir, 'crash-at');
let d: Daemon;

beforeAll(async () => {
  d = await startDaemon({ args: ['--api-port', '0'], env: { MIC_CRASH_FILE: CRASH } });
  const r = await d.initProject(P, { 'README.md': 'r\n' });
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await d?.stop();
  rmSync(crashDir, { recursive: true, force: true });
});

// where each round's kill comes: a crash point, or a delay (ms) after the rebase was asked for (a rebase here
// takes some 300-800 ms on a loaded machine: the later ones land inside it or after it)
const MOMENTS: (string | number)[] = ['rebase-rebuilding', 'rebase-built', 'rebase-recorded', 'rebase-swapping', 150, 400, 900];

/** The session's files, added through the API: enough of them that the rebuild takes a while. */
const files = (i: number) =>
  Array.from({ length: 24 }, (_, k) => ({
    path: `r${i}/d${k % 4}/f${k}.txt`,
    change_type: 'added' as const,
    content: `round ${i} file ${k}\n`.repeat(1 + k),
  }));
const MINE = (i: number) => `session side ${i}\n`;

async function pathFh(c: Nfs3Client, root: Buffer, path: string): Promise<Buffer | null> {
  let fh = root;
  for (const part of path.split('/')) {
    const l = await c.lookup(fh, part);
    if (l.status === NfsStatus.NOENT) return null;
    expect(l.status, path).toBe(NfsStatus.OK);
    fh = l.fh!;
  }
  return fh;
}

/** The file's content as the session's export shows it, or null when it has no such file. */
async function readPath(c: Nfs3Client, root: Buffer, path: string): Promise<string | null> {
  const fh = await pathFh(c, root, path);
  if (!fh) return null;
  const r = await c.read(fh, 0, 1 << 20);
  expect(r.status, path).toBe(NfsStatus.OK);
  return r.data!.toString();
}

/** Creates and writes (FILE_SYNC) files at the export's root until the export stops answering; returns the
 *  acknowledged ones (CREATE and WRITE both OK) with their content. */
async function writeUntilStopped(c: Nfs3Client, root: Buffer, i: number, started: () => void): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  try {
    for (let k = 0; ; k++) {
      const name = `w${i}-${k}.txt`;
      const cr = await c.create(root, name, { kind: 'guarded', attrs: { mode: 0o644 } });
      if (cr.status !== NfsStatus.OK) break;
      const body = `nfs ${i} ${k}\n`;
      const w = await c.write(cr.fh!, 0, Buffer.from(body), StableHow.FILE_SYNC);
      if (w.status !== NfsStatus.OK) break;
      acked.set(name, body);
      if (k === 3) started();
    }
  } catch {
    /* the daemon was killed under the call: not acknowledged */
  }
  return acked;
}

describe('SIGKILL during a rebase', () => {
  it(`the record and the session's files agree and every acknowledged change survives (${MOMENTS.length} rounds)`, async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < MOMENTS.length; i++) {
      const at = MOMENTS[i];
      const api = apiClientOf(d.dataDir);
      const s = (await api.start({ goal: `round ${i}`, project: P })).session;
      const id = s.session_id;
      await api.files(id, { files: [...files(i), { path: `both${i}.txt`, change_type: 'added', content: MINE(i) }] });
      // the head moves: a new file, and an add/add conflict with the session (text: left with markers)
      const other = (await api.start({ goal: `other ${i}`, project: P })).session.session_id;
      await api.files(other, {
        files: [
          { path: `other${i}.txt`, change_type: 'added', content: `other ${i}\n` },
          { path: `both${i}.txt`, change_type: 'added', content: `head side ${i}\n` },
        ],
      });
      await api.land(other);
      const oldBase = (await api.get(id)).session.base_head;

      // NFS writes flowing when the rebase starts
      const c = await Nfs3Client.connect(d.port);
      const root = await c.mountRoot(s.export!);
      let flowing!: () => void;
      const started = new Promise<void>((res) => (flowing = res));
      const writer = writeUntilStopped(c, root, i, flowing);
      await started;

      if (typeof at === 'string') writeFileSync(CRASH, at);
      const rebase = api.rebase(id).then(
        () => true,
        () => false,
      );
      if (typeof at === 'number') await new Promise((r) => setTimeout(r, at));
      else await rebase; // the daemon kills itself at the point
      await d.restart({ signal: 'SIGKILL' });
      const acked = await rebase;
      const nfsAcked = await writer;
      await c.close().catch(() => undefined);
      rmSync(CRASH, { force: true });

      const after = apiClientOf(d.dataDir);
      const rec = (await after.get(id)).session;
      const newHead = (await openCatalog(d.dataDir).store(P).getHead())!.hash;
      const rebased = rec.base_head === newHead;
      if (acked) expect(rebased, `round ${i}: acknowledged rebase`).toBe(true);
      if (!rebased) expect(rec.base_head, `round ${i}`).toBe(oldBase);
      outcomes.push(acked ? 'acked' : rebased ? 'rebased-unacked' : 'not-rebased');

      // the files the export shows agree with the record's base
      const c2 = await Nfs3Client.connect(d.port);
      try {
        const root2 = await c2.mountRoot(rec.export!);
        // the side directory of a rebase cut short is gone once the session was opened (the restart opens it)
        expect(readdirSync(join(d.dataDir, 'sessions')).filter((n) => /\.(rebase|old)$/.test(n))).toEqual([]);
        for (const f of files(i)) expect(await readPath(c2, root2, f.path), `round ${i} (${at}): ${f.path}`).toBe(f.content);
        for (const [name, body] of nfsAcked) expect(await readPath(c2, root2, name), `round ${i} (${at}): ${name}`).toBe(body);
        expect(await readPath(c2, root2, `other${i}.txt`), `round ${i} (${at})`).toBe(rebased ? `other ${i}\n` : null);
        const both = await readPath(c2, root2, `both${i}.txt`);
        if (rebased) expect(both).toMatch(new RegExp(`^<<<<<<< session\\n${MINE(i)}=======\\nhead side ${i}\\n>>>>>>> head `));
        else expect(both).toBe(MINE(i));

        // rebasing again works (a no-op once rebased) and keeps everything
        const again = await after.rebase(id);
        expect(again.rebased, `round ${i}`).toBe(!rebased);
        expect(again.session.base_head).toBe(newHead);
        const root3 = await c2.mountRoot(again.session.export!);
        for (const f of files(i)) expect(await readPath(c2, root3, f.path), `round ${i}: ${f.path} after rebasing again`).toBe(f.content);
        for (const [name, body] of nfsAcked) expect(await readPath(c2, root3, name)).toBe(body);
        expect(await readPath(c2, root3, `other${i}.txt`)).toBe(`other ${i}\n`);
        // and a second client, libnfs, reads the same bytes from the rebased export
        const lib = { port: d.port, export: again.session.export! };
        expect((await nfsCat(lib, `other${i}.txt`)).toString()).toBe(`other ${i}\n`);
        for (const [name, body] of nfsAcked) expect((await nfsCat(lib, name)).toString(), `libnfs: ${name}`).toBe(body);
      } finally {
        await c2.close();
      }
      const check = await fsck(openCatalog(d.dataDir).backend, { projects: [P] });
      expect(check.problems, JSON.stringify(check.projects.map((p) => p.problems))).toBe(0);
      await after.abandon(id); // fewer live sessions for the next restarts to open
    }
    // the moments were spread: some rebases were cut short before their record, some after
    expect(outcomes.filter((o) => o === 'not-rebased').length, outcomes.join(',')).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o !== 'not-rebased').length, outcomes.join(',')).toBeGreaterThan(0);
  }, 120_000);
});

// The same daemon serving a session it handed off opens it from its recorded tree (tree.json): its state
// directory is created with start.json naming that tree. A SIGKILL in between must not leave a directory
// without it, which would open the session on its base, its changes gone.
describe('SIGKILL while a handed-off session is served again', () => {
  it('opens it from its recorded tree after the restart, with every change', async () => {
    const api = apiClientOf(d.dataDir);
    const id = (await api.start({ goal: 'hand off and back', project: P })).session.session_id;
    await api.files(id, { files: files(99) });
    await api.handoff(id);
    writeFileSync(CRASH, 'session-start-tree');
    expect(
      await api.serve(id).then(
        () => 'served',
        () => 'killed',
      ),
    ).toBe('killed');
    await d.restart({ signal: 'SIGKILL' });
    rmSync(CRASH, { force: true });

    const after = apiClientOf(d.dataDir);
    await after.serve(id); // served here (the restart may have taken it up already)
    const s = (await after.get(id)).session;
    const c = await Nfs3Client.connect(d.port);
    try {
      const root = await c.mountRoot(s.export!);
      for (const f of files(99)) expect(await readPath(c, root, f.path), f.path).toBe(f.content);
    } finally {
      await c.close();
    }
    const ch = await after.changes(id, { content: false });
    expect(ch.changes.map((x) => x.path).sort()).toEqual(
      files(99)
        .map((f) => f.path)
        .sort(),
    );
    const check = await fsck(openCatalog(d.dataDir).backend, { projects: [P] });
    expect(check.problems, JSON.stringify(check.projects.map((p) => p.problems))).toBe(0);
  }, 60_000);
});

// The CLI opens the store itself when no daemon serves the data dir. After a kill between the two renames of
// a rebase's swap (its record already names the new head; the session's state directory is gone, the rebuilt
// one beside it), a CLI command must see the rebase finished, never the record on the new head with the old
// state (the head's new file shown deleted), and say on stderr what it finished.
describe('a CLI command after a SIGKILL mid-rebase, the daemon still down', () => {
  it('sees the session rebased and says so on stderr', async () => {
    const api = apiClientOf(d.dataDir);
    const id = (await api.start({ goal: 'rebase, then the CLI', project: P })).session.session_id;
    await api.files(id, { files: [{ path: 'cli-mine.txt', change_type: 'added', content: 'mine\n' }] });
    const other = (await api.start({ goal: 'moves the head', project: P })).session.session_id;
    await api.files(other, { files: [{ path: 'cli-other.txt', change_type: 'added', content: 'other\n' }] });
    await api.land(other);
    writeFileSync(CRASH, 'rebase-swapping');
    await expect(api.rebase(id)).rejects.toThrow();
    rmSync(CRASH, { force: true });

    const r = await d.mic(['session', 'show', id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout) as { session?: Record<string, any> } & Record<string, any>;
    const s = shown.session ?? shown;
    expect(s.base_head).toBe((await openCatalog(d.dataDir).store(P).getHead())!.hash);
    expect(s.changes).toMatchObject({ total: 1, added: 1, deleted: 0 });
    expect(r.stderr).toContain('rebase finished after a crash');
    expect(readdirSync(join(d.dataDir, 'sessions')).filter((n) => /\.(rebase|old)$/.test(n))).toEqual([]);
    await d.restart({ signal: 'SIGKILL' });
    expect((await apiClientOf(d.dataDir).get(id)).session.changes).toMatchObject({ total: 1, added: 1 });
  }, 60_000);
});
