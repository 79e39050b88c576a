// Isolation: two sessions from the same head. A change made through the kernel
// client in session A is invisible in session B (checked with libnfs and with a
// kernel client on B), B's own change is invisible in A, and the head is unchanged:
// a third session started afterwards sees the original files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus } from '../lib/kernel.js';
import { nfsCat, nfsCatRaw, nfsLs, type NfsTarget } from '../lib/libnfs.js';

const PROJECT = {
  'README.md': 'original readme\n',
  'del.txt': 'delete me\n',
  'src/a.txt': 'A\n',
  'src/b.txt': 'B\n',
};

describe.sequential('session isolation', () => {
  let d: Daemon;
  let a: SessionInfo;
  let b: SessionInfo;
  const t = (s: SessionInfo): NfsTarget => ({ port: d.port, export: s.export });
  const names = async (s: SessionInfo) => (await nfsLs(t(s))).map((e) => e.name).sort();

  beforeAll(async () => {
    d = await startDaemon();
    await d.initProject('test/iso', PROJECT);
    a = await d.startSession('test/iso', 'session A');
    b = await d.startSession('test/iso', 'session B');
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('two sessions with distinct ids and exports, both listed as active', async () => {
    expect(a.session_id).not.toBe(b.session_id);
    expect(a.export).toBe(`/exports/sessions/${a.session_id}`);
    expect(b.export).toBe(`/exports/sessions/${b.session_id}`);
    const list = await d.listSessions();
    for (const s of [a, b]) {
      expect(list.find((x) => x.session_id === s.session_id)?.status).toBe('active');
    }
  });

  it('both start with the project files (libnfs)', async () => {
    for (const s of [a, b]) {
      expect(await names(s)).toEqual(['README.md', 'del.txt', 'src']);
      expect((await nfsCat(t(s), 'README.md')).toString()).toBe('original readme\n');
    }
  });

  it('session A is changed through the kernel client', async () => {
    const r = await runGuest(guestScript('isolation-a'), { port: d.port, export: a.export, timeout: 200 });
    expect(stepStatus(r.stdout, 'change'), stepOutput(r.stdout, 'change') || describeResult(r)).toBe('ok');
    expect(r.code, describeResult(r)).toBe(0);
  }, 300_000);

  it('A shows its changes to another client (libnfs)', async () => {
    expect((await nfsCat(t(a), 'README.md')).toString()).toBe('changed in A\n');
    expect((await nfsCat(t(a), 'new-in-a.txt')).toString()).toBe('new in A\n');
    expect(await names(a)).toEqual(['README.md', 'adir', 'new-in-a.txt', 'src']);
    const rec = (await nfsLs(t(a), { recursive: true })).map((e) => e.name).sort();
    expect(rec).toEqual(expect.arrayContaining(['adir/x/deep.txt', 'src/a-renamed.txt', 'src/b.txt']));
    expect(rec).not.toContain('src/a.txt');
  });

  it("B does not see A's changes (libnfs)", async () => {
    expect(await names(b)).toEqual(['README.md', 'del.txt', 'src']);
    expect((await nfsCat(t(b), 'README.md')).toString()).toBe('original readme\n');
    expect((await nfsCat(t(b), 'del.txt')).toString()).toBe('delete me\n');
    expect((await nfsCatRaw(t(b), 'new-in-a.txt')).code).not.toBe(0);
    const rec = await nfsLs(t(b), { recursive: true });
    expect(rec.map((e) => e.name).sort()).toEqual(['README.md', 'del.txt', 'src', 'src/a.txt', 'src/b.txt']);
    expect(rec.find((e) => e.name === 'src/b.txt')?.mode).toBe('-rw-r--r--');
  });

  it('B through the kernel client: unchanged, and its own change stays in B', async () => {
    const r = await runGuest(guestScript('isolation-b'), { port: d.port, export: b.export, timeout: 200 });
    for (const step of ['unchanged', 'change_b']) {
      expect(stepStatus(r.stdout, step), stepOutput(r.stdout, step) || describeResult(r)).toBe('ok');
    }
    expect(r.code, describeResult(r)).toBe(0);
    expect((await nfsCat(t(b), 'README.md')).toString()).toBe('changed in B\n');
    expect((await nfsCat(t(a), 'README.md')).toString()).toBe('changed in A\n');
    expect((await nfsCatRaw(t(a), 'new-in-b.txt')).code).not.toBe(0);
  }, 300_000);

  it('the head is unchanged: a session started now sees the original files', async () => {
    const c = await d.startSession('test/iso', 'session C');
    expect(await names(c)).toEqual(['README.md', 'del.txt', 'src']);
    expect((await nfsCat(t(c), 'README.md')).toString()).toBe('original readme\n');
    expect((await nfsCat(t(c), 'del.txt')).toString()).toBe('delete me\n');
    const rec = (await nfsLs(t(c), { recursive: true })).map((e) => e.name).sort();
    expect(rec).toEqual(['README.md', 'del.txt', 'src', 'src/a.txt', 'src/b.txt']);
  });
});
