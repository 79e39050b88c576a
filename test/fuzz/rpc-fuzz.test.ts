// Issue 8 section 5: mutated RPC records against the real daemon (a child process).
// CI sends MIC_FUZZ_RECORDS (default 100k) records; the bench mode sends 1M:
//   MIC_FUZZ_RECORDS=1000000 npx vitest run test/fuzz/rpc-fuzz.test.ts
// MIC_FUZZ_SEED replays a run. Nothing may crash, every reply must decode (or the connection
// be closed), and the daemon's peak RSS must stay under RSS_BOUND.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NfsStatus } from '../lib/nfs3-client.js';
import type { Daemon } from '../lib/daemon.js';
import { MiB, daemonWithSession, mountFrom, procMem } from '../trust/wire.js';
import { fuzz, type Handles } from './engine.js';

const TOTAL = Number(process.env.MIC_FUZZ_RECORDS ?? 100_000);
const SEED = Number(process.env.MIC_FUZZ_SEED ?? Date.now() % 1_000_000);
/** The daemon's peak resident memory during the run. */
const RSS_BOUND = 400 * MiB;

let d: Daemon;
let handles: Handles;
beforeAll(async () => {
  const s = await daemonWithSession();
  d = s.d;
  const { c, root } = await mountFrom(d.port, s.exportPath);
  const file = (await c.lookup(root, 'README.md')).fh!;
  const dir = (await c.lookup(root, 'src')).fh!;
  const link = (await c.symlink(root, 'link', 'README.md')).fh!;
  handles = { root, file, dir, link, exportPath: s.exportPath };
  await c.close();
});
afterAll(async () => {
  await d?.stop();
});

describe('RPC fuzzing', () => {
  it(`${TOTAL} mutated records (MIC_FUZZ_SEED=${SEED}): no crash, every reply well-formed, RSS bounded`, async () => {
    const started = Date.now();
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, procMem(d.pid, 'VmRSS'));
      } catch {
        /* gone: checked below */
      }
    }, 250);
    let stats;
    try {
      stats = await fuzz({ port: d.port, handles, total: TOTAL, seed: SEED });
    } finally {
      clearInterval(sampler);
    }
    const hwm = procMem(d.pid, 'VmHWM');
    const errors = d.logLines((l) => Number(l.level) >= 50);
    console.log(
      JSON.stringify({
        fuzz: {
          seed: SEED,
          records: stats.sent,
          replies: stats.replies,
          closedConnections: stats.closedConnections,
          streamAttacks: stats.streamAttacks,
          noReplyExpected: stats.noReplyExpected,
          outcomes: stats.outcomes,
          peakRssMiB: Math.round(Math.max(hwm, peakRss) / MiB),
          seconds: (Date.now() - started) / 1000,
          errorLogs: errors.length,
        },
      }),
    );
    expect(stats.malformed.slice(0, 5)).toEqual([]);
    expect(stats.sent).toBe(TOTAL);
    expect(stats.replies).toBeGreaterThan(TOTAL / 2);
    expect(errors.map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '')}`).slice(0, 5)).toEqual([]);
    expect(hwm).toBeLessThan(RSS_BOUND);
    // the daemon is up and serves a fresh client
    const { c, root } = await mountFrom(d.port, handles.exportPath);
    expect((await c.getattr(root)).status).toBe(NfsStatus.OK);
    await c.close();
  }, 600_000);
});
