// Landing through a kernel-client mount: edit in the mount, land (the CLI goes through the daemon's API),
// the head shows the change, a new session sees it, and the landed session's export is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus } from '../lib/kernel.js';
import { nfsCat, nfsCatRaw } from '../lib/libnfs.js';

const P = 'test/landing';

describe.sequential('landing from a kernel mount', () => {
  let d: Daemon;
  let s: SessionInfo;

  beforeAll(async () => {
    d = await startDaemon({ env: { MIC_API_PORT: '0' } });
    await d.initProject(P, {
      'README.md': 'original readme\n',
      'src/old.txt': 'old\n',
      'src/keep.txt': 'keep\n',
      'untouched.txt': 'untouched\n',
    });
    s = await d.startSession(P, 'edit through the kernel');
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('the session is edited through the kernel client', async () => {
    const r = await runGuest(guestScript('landing-edit'), { port: d.port, export: s.export, timeout: 200 });
    expect(stepStatus(r.stdout, 'edit'), stepOutput(r.stdout, 'edit') || describeResult(r)).toBe('ok');
    expect(r.code, describeResult(r)).toBe(0);
  }, 300_000);

  it("lands through the CLI and the daemon's API; the head records the session and the changes", async () => {
    const before = JSON.parse((await d.mic(['project', 'head', P])).stdout) as { head: string };
    const r = await d.mic(['session', 'land', s.session_id, '-m', 'kernel edits', '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const landed = JSON.parse(r.stdout) as {
      session: { status: string; changes: unknown };
      head: { hash: string; parent: string; session: string; message: string };
    };
    expect(landed.session.status).toBe('landed');
    expect(landed.session.changes).toEqual({ total: 4, added: 1, modified: 2, deleted: 1 });
    expect(landed.head).toMatchObject({ parent: before.head, session: s.session_id, message: 'kernel edits' });

    const show = JSON.parse((await d.mic(['show', 'HEAD', '--project', P, '--json'])).stdout) as {
      changes: { path: string; change_type: string }[];
    };
    expect(show.changes.map((c) => `${c.change_type} ${c.path}`)).toEqual([
      'modified README.md',
      'added src/feature/new.txt',
      'modified src/keep.txt',
      'deleted src/old.txt',
    ]);
    const blame = JSON.parse((await d.mic(['blame', 'src/feature/new.txt', '--project', P, '--json'])).stdout) as { goal: string };
    expect(blame.goal).toBe('edit through the kernel');
  });

  it("the landed session's export is gone; a new session sees the landed files", async () => {
    expect((await nfsCatRaw({ port: d.port, export: s.export }, 'README.md')).code).not.toBe(0);
    const next = await d.startSession(P, 'after the landing');
    expect((await nfsCat({ port: d.port, export: next.export }, 'README.md')).toString()).toBe('edited in the mount\n');
    const r = await runGuest(guestScript('landing-check'), { port: d.port, export: next.export, timeout: 200 });
    expect(stepStatus(r.stdout, 'sees'), stepOutput(r.stdout, 'sees') || describeResult(r)).toBe('ok');
    expect(r.code, describeResult(r)).toBe(0);
  }, 300_000);
});
