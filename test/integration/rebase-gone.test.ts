// A kernel-client mount (user-mode Linux) through a rebase and then a vanished client, in one guest run:
//  - the guest writes and fsyncs files in a loop, its cwd in the mount, while the session is rebased (POST
//    .../rebase) onto a head another session landed meanwhile. The export keeps its fsid (docs/api.md,
//    "Landing and rebase"): the guest goes on without mounting again, and no write fails, not even through the
//    descriptor the writer had open when the rebase came (a file the session made). Afterwards the other
//    session's file is in the listing, its change to a base file reads through a cwd held in the base
//    directory, a base file held open still reads, and every file whose fsync returned is there with its
//    content (through the mount, the API and libnfs). A file the session made, held open through the rebase,
//    reads through that descriptor and a write through another lands in it, though the other session's landed
//    file has taken its inode number (the write is not in that file: the guest checks, and the API below);
//  - the guest then ends without UMNT (kernel mount mode): once its connections are gone for --mount-gone
//    the event stream says `unmounted`, reason gone.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, startHostHook, stepOutput, stepStatus, type HostHook } from '../lib/kernel.js';
import { apiCaller, type ApiCaller } from '../lib/api-call.js';
import { openSse, type SseStream } from '../lib/sse.js';
import { nfsCat } from '../lib/libnfs.js';
import { until } from '../lib/until.js';

const P = 'test/rebase-kernel';
/** what the guest writes into w<n>.txt (rebase-write.sh `body`) */
const body = (n: number) => `file ${n}\n`.repeat(1 + Math.ceil(8192 / `file ${n}\n`.length)).slice(0, 8192);

describe.sequential('kernel client: a rebase under a writing mount, then a client gone', () => {
  let d: Daemon;
  let s: SessionInfo;
  let other: SessionInfo;
  let api: ApiCaller;
  let hook: HostHook;
  let out: string;
  let bus: SseStream;
  let rebased: { rebased: boolean; conflicts: unknown[]; to: string } | null = null;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'mic-rebase-kernel-'));
    // a client without a connection for 3 s is gone
    d = await startDaemon({ env: { MIC_API_PORT: '0', MIC_MOUNT_GONE: '3' } });
    api = apiCaller(d.dataDir);
    await d.initProject(P, { 'README.md': 'readme\n', 'docs/guide.md': 'guide\n' });
    s = await d.startSession(P, 'written through the rebase');
    other = await d.startSession(P, 'lands meanwhile');
    await api.call('POST', `/api/sessions/${other.session_id}/files`, {
      files: [
        { path: 'landed-elsewhere.txt', change_type: 'added', content: 'landed by the other session\n' },
        { path: 'docs/guide.md', change_type: 'modified', content: 'guide v2\n' },
      ],
    });
    bus = await openSse(`${api.url}/api/events?session=${s.session_id}&types=session.mounted,session.unmounted`, api.admin());
    hook = startHostHook({
      // while the guest's writer runs: the other session lands, then this one is rebased onto that head
      rebase: async () => {
        await api.call('POST', `/api/sessions/${other.session_id}/land`, { message: 'elsewhere' });
        rebased = await api.call('POST', `/api/sessions/${s.session_id}/rebase`);
      },
    });
  }, 60_000);

  afterAll(async () => {
    bus?.close();
    hook?.stop();
    await d?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('the mount survives the rebase: the guest writes on, every file it fsynced is there; then the client is gone', async () => {
    const r = await runGuest(guestScript('rebase-write'), {
      port: d.port,
      export: s.export,
      timeout: 120,
      env: { ...hook.env, OUT: out },
      rw: [hook.dir, out],
    });
    expect(hook.errors).toEqual([]);
    for (const name of ['rebase', 'after']) expect(stepStatus(r.stdout, name), stepOutput(r.stdout, name) || describeResult(r)).toBe('ok');
    expect(r.code, describeResult(r)).toBe(0);
    expect(rebased).toMatchObject({ rebased: true, conflicts: [] });

    // the files whose fsync returned in the guest, through the API (the session's changes, sealed now)
    const fsynced = readFileSync(join(out, 'fsynced'), 'utf8').split('\n').filter(Boolean);
    expect(fsynced.length).toBeGreaterThanOrEqual(10);
    const changes = (await api.call('GET', `/api/sessions/${s.session_id}/changes?content=true`)) as {
      changes: { path: string; change_type: string; content: string | null }[];
    };
    const byPath = new Map(changes.changes.map((c) => [c.path, c]));
    for (const f of fsynced) expect(byPath.get(f)?.content, f).toBe(body(Number(f.slice(1, -4))));
    // the other session's file is the head's now: not a change of this session, but in its tree
    expect(byPath.has('landed-elsewhere.txt')).toBe(false);
    expect(byPath.has('docs/guide.md')).toBe(false);
    // no write failed (the guest checked it too)
    const errors = readFileSync(join(out, 'write-errors'), 'utf8').split('\n').filter(Boolean);
    expect(errors).toEqual([]);
    // the write through the descriptor held open is in the session's file
    expect(byPath.get('mine.txt')?.content).toBe('mine\nmore\n');
    const detail = (await api.call('GET', `/api/sessions/${s.session_id}`)).session as { base_head?: string; base?: { head: string } };
    expect(JSON.stringify(detail)).toContain(rebased!.to);

    // the guest ended without UMNT: gone once it has had no connection for --mount-gone
    const unmounts = () => bus.events.filter((e) => e.event === 'session.unmounted').map((e) => e.data.data.reason as string);
    await until(() => unmounts().length > 0, 20_000);
    expect(unmounts()).toEqual(['gone']);
    expect(bus.events.filter((e) => e.event === 'session.mounted')).toHaveLength(1); // one client, one export

    // and through libnfs (after the gone check: its connections are from the same address)
    const t = { port: d.port, export: s.export };
    expect((await nfsCat(t, 'landed-elsewhere.txt')).toString()).toBe('landed by the other session\n');
    for (const f of [fsynced[0], fsynced[fsynced.length - 1]])
      expect((await nfsCat(t, f)).toString(), f).toBe(body(Number(f.slice(1, -4))));
  }, 240_000);
});
