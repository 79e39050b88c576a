// An idle daemon sleeps: its main thread is woken only by its own slow timers (the event-loop delay
// histogram every 100 ms, connection sweeps, lease renewals), not 100 times a second. prom-client's default
// event-loop monitor (10 ms) woke it ~100 times a second, 8 ms of CPU a second with nothing to do
// (docs/perf-notes.md, "Server CPU of the real workload"). Counted as the main thread's voluntary context
// switches (/proc/<pid>/task/<pid>/status): each is one sleep in epoll_pwait, so one wake-up.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../lib/daemon.js';

function sleepsOf(pid: number): number {
  const m = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8').match(/^voluntary_ctxt_switches:\s+(\d+)$/m);
  if (!m) throw new Error('no voluntary_ctxt_switches');
  return Number(m[1]);
}

describe('idle daemon', () => {
  it('wakes its main thread at most ~10 times a second while nothing happens', async () => {
    const d = await startDaemon();
    try {
      await d.initProject('acme/idle', { 'a.txt': 'a\n' });
      await d.startSession('acme/idle', 'idle');
      await sleep(1000); // start-up work settles
      const before = sleepsOf(d.pid);
      await sleep(3000);
      const wakeups = sleepsOf(d.pid) - before;
      // 100 ms histogram + the other interval timers: ~35 in 3 s; the 10 ms monitor alone made ~300
      expect(wakeups).toBeLessThan(120);
      expect(wakeups).toBeGreaterThan(0);
    } finally {
      await d.stop('SIGTERM', { cleanup: true });
    }
  });
});
