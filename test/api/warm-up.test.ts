// The start-up warm-up (src/daemon/warm-up.ts): before listening, `mic serve` runs a bounded number of
// synthetic NFS calls through the real dispatcher and procedures against a scratch session, and leaves no
// trace: no files in the temporary directory, nothing in the daemon's data dir (no project, session or
// journal record), no calls in its metrics; its clients' sessions work as before. Bounded by the number of
// calls and by time. Its effect (the first calls of a fresh daemon no longer run cold) is a benchmark's
// (docs/perf-notes.md, "branch meta8"), not a test's.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { warmUp } from '../../src/daemon/warm-up.js';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client } from '../lib/nfs3-client.js';
import { parsePrometheusText, sumOf } from '../lib/prom-text.js';

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
    const d = await startDaemon({ args: ['--api-port', '0'], env: { MIC_WARM_UP_CALLS: '3000' } });
    try {
      const done = d.logLines((l) => l.msg === 'warm-up done');
      expect(done).toHaveLength(1);
      const calls = done[0]!.calls as number;
      expect(calls).toBeGreaterThanOrEqual(3000); // all of them: no call failed
      expect(calls).toBeLessThan(3000 + 16); // at most one batch of 16 in flight past the budget
      expect(d.logLines((l) => l.msg === 'warm-up ended early')).toEqual([]);
      const order = d.logLines((l) => l.msg === 'warm-up done' || l.msg === 'listening').map((l) => l.msg);
      expect(order).toEqual(['warm-up done', 'listening']);
      // no files left; nothing in the data dir
      expect([...scratches()].filter((n) => !before.has(n))).toEqual([]);
      expect(await d.listSessions()).toEqual([]);
      expect(existsSync(join(d.dataDir, 'sessions')) ? readdirSync(join(d.dataDir, 'sessions')) : []).toEqual([]);
      expect((await d.mic(['project', 'head', 'warm-up/scratch'])).code).not.toBe(0);
      // no calls counted
      expect(sumOf(await metrics(d), 'mic_rpc_calls_total')).toBe(0);
      // a client's session works, and sees only its own files
      await d.initProject('acme/warm', { 'a.txt': 'a\n' });
      const s = await d.startSession('acme/warm', 'after the warm-up');
      const c = await Nfs3Client.connect(d.port);
      try {
        const root = await c.mountRoot(s.export);
        expect((await c.create(root, 'b.txt')).status).toBe(0);
        const names = ((await c.readdirplus(root)).entries ?? []).map((e) => e.name).filter((n) => n !== '.' && n !== '..');
        expect(names.sort()).toEqual(['a.txt', 'b.txt']);
      } finally {
        await c.close();
      }
      expect(sumOf(await metrics(d), 'mic_rpc_calls_total', { program: 'nfs', procedure: 'CREATE' })).toBe(1);
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
    const dir = mkdtempSync(join(tmpdir(), 'mic-warm-up-test-'));
    try {
      const r = await warmUp({ log: pino({ level: 'silent' }), calls: 1e9, maxMs: 200, tmpDir: dir });
      expect(r.calls).toBeGreaterThan(0);
      expect(r.calls).toBeLessThan(1e9);
      expect(readdirSync(dir)).toEqual([]);
      const few = await warmUp({ log: pino({ level: 'silent' }), calls: 100, tmpDir: dir });
      expect(few.calls).toBeGreaterThanOrEqual(100);
      expect(few.calls).toBeLessThan(100 + 16);
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
