// The start-up warm-up (src/daemon/warm-up.ts): before listening, `mic serve` runs a bounded number of
// synthetic NFS calls over a loopback connection to a private RPC server (the daemon's own connection,
// record, dispatch, reply and busy-poll code), with the procedures a clone or build sends (READ, WRITE and
// COMMIT included), against scratch sessions, and leaves no trace: no files in the temporary directory,
// nothing in the daemon's data dir (no project, session or journal record), no calls, data bytes or busy-poll
// windows in its metrics; its clients' sessions work as before and their bytes are counted exactly. Bounded
// by the number of calls and by time. Its effect (the first calls of a fresh daemon no longer run cold) is a
// benchmark's (docs/perf-notes.md, "branch meta8" and "branch warm9"), not a test's.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { WARM_UP_FIRST_PASS_CALLS, warmUp } from '../../src/daemon/warm-up.js';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, StableHow } from '../lib/nfs3-client.js';
import { parsePrometheusText, sumOf } from '../lib/prom-text.js';

/** Every file and directory under dir, relative. */
function findFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

const scratchDir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const scratches = () => new Set(readdirSync(scratchDir).filter((n) => n.startsWith('mic-warm-up-')));

async function metrics(d: Daemon): Promise<ReturnType<typeof parsePrometheusText>> {
  const info = JSON.parse(readFileSync(join(d.dataDir, 'daemon.json'), 'utf8')) as { api_port: number; api_token_file?: string | null };
  const token = info.api_token_file ? readFileSync(info.api_token_file, 'utf8').trim() : undefined;
  const res = await fetch(`http://127.0.0.1:${info.api_port}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  return parsePrometheusText(await res.text());
}

describe('start-up warm-up', () => {
  it('runs its calls before listening and leaves no trace in files, data dir or metrics', async () => {
    const before = scratches();
    const d = await startDaemon({ args: ['--api-port', '0', '--busy-poll-us', '500'], env: { MIC_WARM_UP_CALLS: '3000' } });
    try {
      const done = d.logLines((l) => l.msg === 'warm-up done');
      expect(done).toHaveLength(1);
      const calls = done[0]!.calls as number;
      expect(calls).toBeGreaterThanOrEqual(3000); // all of them: no call failed
      expect(calls).toBeLessThan(3000 + 16); // at most one batch of 16 in flight past the budget
      expect(d.logLines((l) => l.msg === 'warm-up ended early')).toEqual([]);
      // over a real connection (bytes both ways), with what a clone or a build sends
      const wire = done[0]!.wire as { read: number; written: number };
      expect(wire.read).toBeGreaterThan(1 << 20); // at least the 1 MiB file read back
      expect(wire.written).toBeGreaterThan(1 << 20);
      const procs = done[0]!.procedures as Record<string, number>;
      for (const p of ['NULL', 'MKNOD']) expect(procs[p]).toBeUndefined();
      for (const p of ['LOOKUP', 'CREATE', 'SETATTR', 'WRITE', 'COMMIT', 'READ', 'GETATTR', 'ACCESS', 'RENAME', 'REMOVE'])
        expect(procs[p], p).toBeGreaterThan(100);
      for (const p of ['MNT', 'MKDIR', 'READDIRPLUS', 'READDIR', 'LINK', 'SYMLINK', 'READLINK', 'FSSTAT', 'FSINFO', 'PATHCONF'])
        expect(procs[p], p).toBeGreaterThan(0);
      expect(Object.values(procs).reduce((a, b) => a + b, 0)).toBe(calls);
      const order = d.logLines((l) => l.msg === 'warm-up done' || l.msg === 'listening').map((l) => l.msg);
      expect(order).toEqual(['warm-up done', 'listening']);
      // no files left; nothing in the data dir
      expect([...scratches()].filter((n) => !before.has(n))).toEqual([]);
      expect(await d.listSessions()).toEqual([]);
      expect(existsSync(join(d.dataDir, 'sessions')) ? readdirSync(join(d.dataDir, 'sessions')) : []).toEqual([]);
      expect((await d.mic(['project', 'head', 'warm-up/scratch'])).code).not.toBe(0);
      expect(findFiles(d.dataDir).filter((f) => f.includes('warm-up'))).toEqual([]);
      // no calls, data bytes or busy-poll windows counted
      const m0 = await metrics(d);
      expect(sumOf(m0, 'mic_rpc_calls_total')).toBe(0);
      expect(sumOf(m0, 'mic_rpc_call_duration_seconds_count')).toBe(0);
      expect(sumOf(m0, 'mic_nfs_data_bytes_total')).toBe(0);
      expect(sumOf(m0, 'mic_rpc_busy_poll_windows_total')).toBe(0);
      // a client's session works, and sees only its own files
      await d.initProject('acme/warm', { 'a.txt': 'a\n' });
      const s = await d.startSession('acme/warm', 'after the warm-up');
      const c = await Nfs3Client.connect(d.port);
      try {
        const root = await c.mountRoot(s.export);
        const made = await c.create(root, 'b.txt');
        expect(made.status).toBe(0);
        expect((await c.write(made.fh!, 0, Buffer.from('hello'), StableHow.UNSTABLE)).status).toBe(0);
        expect((await c.commit(made.fh!)).status).toBe(0);
        expect((await c.read(made.fh!, 0, 100)).data?.toString()).toBe('hello');
        const names = ((await c.readdirplus(root)).entries ?? []).map((e) => e.name).filter((n) => n !== '.' && n !== '..');
        expect(names.sort()).toEqual(['a.txt', 'b.txt']);
      } finally {
        await c.close();
      }
      const m1 = await metrics(d);
      expect(sumOf(m1, 'mic_rpc_calls_total', { program: 'nfs', procedure: 'CREATE' })).toBe(1);
      expect(sumOf(m1, 'mic_rpc_calls_total', { program: 'nfs', procedure: 'COMMIT' })).toBe(1);
      expect(sumOf(m1, 'mic_nfs_data_bytes_total', { op: 'write' })).toBe(5);
      expect(sumOf(m1, 'mic_nfs_data_bytes_total', { op: 'read' })).toBe(5);
    } finally {
      await d.stop();
    }
  });

  it('is off with 0 calls', async () => {
    const d = await startDaemon({ env: { MIC_WARM_UP_CALLS: '0' } });
    try {
      expect(d.logLines((l) => l.msg === 'warm-up done')).toEqual([]);
    } finally {
      await d.stop();
    }
  });

  it('stops at its time bound, and removes its scratch directory', async () => {
    // The bound counts its set-up too (a scratch project, two sessions, a listener, a connection, two MNTs),
    // which always takes more than 1 ms: with a 1 ms bound no round of NFS calls starts, whatever the load
    // (a bound of 1 s was once used up by the set-up alone on a loaded machine, so "some calls ran" is not
    // something this test can ask of a time bound).
    const dir = mkdtempSync(join(tmpdir(), 'mic-warm-up-test-'));
    try {
      const r = await warmUp({ log: pino({ level: 'silent' }), calls: 1e9, maxMs: 1, tmpDir: dir });
      expect(r.calls).toBeLessThanOrEqual(2); // at most the two MNTs of the set-up
      expect(readdirSync(dir)).toEqual([]);
      const few = await warmUp({ log: pino({ level: 'silent' }), calls: 100, tmpDir: dir });
      expect(few.calls).toBeGreaterThanOrEqual(100);
      expect(few.calls).toBeLessThan(100 + 16);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a short first pass, closed before the long one, in scratch space it removes', async () => {
    // closing a connection, server, busy-poll and sessions makes fields mutable that V8's code took as constant:
    // the first pass does that before the long pass compiles the call path (perf-notes, "branch clone9")
    const dir = mkdtempSync(join(tmpdir(), 'mic-warm-up-test-'));
    try {
      const r = await warmUp({ log: pino({ level: 'silent' }), calls: 1000, maxMs: 60_000, tmpDir: dir });
      expect(r.passes).toHaveLength(2);
      expect(r.passes[0]).toBeGreaterThanOrEqual(WARM_UP_FIRST_PASS_CALLS);
      expect(r.passes[0]).toBeLessThan(WARM_UP_FIRST_PASS_CALLS + 16);
      expect(r.passes[0]! + r.passes[1]!).toBe(r.calls);
      expect(r.calls).toBeGreaterThanOrEqual(1000);
      expect(r.procedures.MNT).toBe(4); // two sessions mounted in each pass
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never throws when its scratch space cannot be made: the daemon starts without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mic-warm-up-test-'));
    try {
      const file = join(dir, 'not-a-directory');
      writeFileSync(file, 'x');
      const r = await warmUp({ log: pino({ level: 'silent' }), calls: 1000, tmpDir: file });
      expect(r.calls).toBe(0);
      expect(readdirSync(dir)).toEqual(['not-a-directory']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
