// The busy-poll of the RPC transport (rpc/busy-poll.ts) in the real daemon, over the wire: after calls one
// at a time and in bursts it has polled (mic_rpc_busy_poll_*), and once traffic stops it stops: over the
// next second the daemon uses almost no CPU (a spinning loop would use a whole core) and opens no window.
// With the setting 0 (env MIC_BUSY_POLL_US) nothing polls at all. The setting is logged at start.
// A resource bound like idle-wakeups.test.ts, not a timing assertion: no latency or throughput is checked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client } from '../lib/nfs3-client.js';
import { parsePrometheusText, sumOf } from '../lib/prom-text.js';

/** The process's user + system CPU time in clock ticks (/proc/PID/stat fields 14 and 15; 100 a second). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return Number(f[11]) + Number(f[12]);
}

async function pollMetrics(d: Daemon): Promise<{ seconds: number; windows: number }> {
  const info = JSON.parse(readFileSync(join(d.dataDir, 'daemon.json'), 'utf8')) as { api_port: number; api_token_file?: string | null };
  const token = info.api_token_file ? readFileSync(info.api_token_file, 'utf8').trim() : undefined;
  const res = await fetch(`http://127.0.0.1:${info.api_port}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  const m = parsePrometheusText(await res.text());
  return { seconds: sumOf(m, 'mic_rpc_busy_poll_seconds_total'), windows: sumOf(m, 'mic_rpc_busy_poll_windows_total') };
}

/** NFS traffic: GETATTR and NULL one call in flight at a time, then bursts of 16. */
async function traffic(d: Daemon, project: string): Promise<void> {
  await d.initProject(project, { 'a.txt': 'a\n' });
  const s = await d.startSession(project, 'busy-poll');
  const c = await Nfs3Client.connect(d.port);
  try {
    const root = await c.mountRoot(s.export);
    for (let i = 0; i < 400; i++) {
      await c.null();
      expect((await c.getattr(root)).status).toBe(0);
    }
    for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 16 }, () => c.getattr(root)));
  } finally {
    await c.close();
  }
}

function loggedSetting(d: Daemon): unknown {
  return d.logLines((l) => l.msg === 'connection limits and export options')[0]?.busyPollUs;
}

describe('busy-poll in the daemon', () => {
  it('polls while calls come, and uses next to no CPU and opens no window once they stop', async () => {
    // a 50 ms maximum, not haltpoll's 200 µs: on a loaded machine (CI runs test files side by side) the
    // client's calls may come more than 200 µs apart, and the governor would rightly never open a window
    const d = await startDaemon({ args: ['--api-port', '0', '--busy-poll-us', '50000'] });
    try {
      expect(loggedSetting(d)).toBe(50000);
      await traffic(d, 'acme/busy');
      await sleep(300); // the last windows (≤ 50 ms) and the connection's close are long over
      const polled = await pollMetrics(d);
      expect(polled.windows).toBeGreaterThan(0);
      expect(polled.seconds).toBeGreaterThan(0);
      const before = cpuTicks(d.pid);
      await sleep(1000);
      const used = cpuTicks(d.pid) - before;
      // a loop still polling would use ~100 ticks (a whole core); an idle daemon 0-2
      expect(used).toBeLessThan(20);
      expect(await pollMetrics(d)).toEqual(polled); // the scrape is HTTP: not RPC activity
    } finally {
      await d.stop('SIGTERM', { cleanup: true });
    }
  });

  it('never polls with MIC_BUSY_POLL_US=0', async () => {
    const d = await startDaemon({ args: ['--api-port', '0'], env: { MIC_BUSY_POLL_US: '0' } });
    try {
      expect(loggedSetting(d)).toBe(0);
      await traffic(d, 'acme/still');
      expect(await pollMetrics(d)).toEqual({ seconds: 0, windows: 0 });
    } finally {
      await d.stop('SIGTERM', { cleanup: true });
    }
  });
});
