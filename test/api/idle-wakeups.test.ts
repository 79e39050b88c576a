// An idle daemon sleeps: its main thread is woken only by its own slow timers (the event-loop delay
// histogram every 500 ms, connection sweeps, lease renewals), not 10 or 100 times a second. prom-client's
// default event-loop monitor (10 ms) woke it ~100 times a second, 8 ms of CPU a second with nothing to do
// (docs/perf-notes.md, "Server CPU of the real workload"); then the 100 ms histogram and the session-events
// watcher (polling the sessions' change counters every 100 ms while anything listened, which the event bus
// always did) woke it ~11 times a second (33 in 3 s); the watcher now runs only after a change. Counted as the main thread's voluntary context
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
  it('wakes its main thread a few times a second at most while nothing happens', async () => {
    const d = await startDaemon();
    try {
      await d.initProject('acme/idle', { 'a.txt': 'a\n' });
      await d.startSession('acme/idle', 'idle');
      await sleep(1000); // start-up work settles
      const before = sleepsOf(d.pid);
      await sleep(3000);
      const wakeups = sleepsOf(d.pid) - before;
      // 500 ms histogram + the other slow timers: ~7 in 3 s; with the 100 ms watcher and histogram ~33, the
      // 10 ms monitor alone made ~300
      expect(wakeups).toBeLessThan(20);
      expect(wakeups).toBeGreaterThan(0);
    } finally {
      await d.stop('SIGTERM', { cleanup: true });
    }
  });
});
