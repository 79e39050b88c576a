// The busy-poll governor (rpc/busy-poll.ts) with an injected clock and a hand-turned loop: the window grows
// when a gap was longer than it but within the maximum (haltpoll's grow: ×2, from 50 µs, capped), shrinks when
// a gap was longer than the maximum (÷2, to 0 below 50 µs), stays when the poll caught the activity; a window
// ends once its length has passed since the last activity, and nothing polls at 0 or after stop().
import { describe, expect, it } from 'vitest';
import { BusyPoll, DEFAULT_BUSY_POLL_US, PollGovernor, runQueueWait } from '../../rpc/busy-poll.js';

describe('PollGovernor', () => {
  it('grows from 50 µs by doubling up to the maximum, and holds when the poll catches the next activity', () => {
    const g = new PollGovernor(200);
    expect(g.limitUs).toBe(0);
    g.observe(30); // blocked (no window), within the maximum: grow to the start
    expect(g.limitUs).toBe(50);
    g.observe(40); // caught by the 50 µs poll
    expect(g.limitUs).toBe(50);
    g.observe(80);
    expect(g.limitUs).toBe(100);
    g.observe(150);
    expect(g.limitUs).toBe(200);
    g.observe(199); // caught
    expect(g.limitUs).toBe(200);
    g.observe(200); // caught: a gap equal to the window
    expect(g.limitUs).toBe(200);
  });

  it('shrinks by halving on gaps longer than the maximum, to 0 below 50 µs', () => {
    const g = new PollGovernor(200);
    for (const gap of [30, 80, 150]) g.observe(gap);
    expect(g.limitUs).toBe(200);
    g.observe(5_000);
    expect(g.limitUs).toBe(100);
    g.observe(201);
    expect(g.limitUs).toBe(50);
    g.observe(1e6);
    expect(g.limitUs).toBe(0); // 25 µs is below the start: off
    g.observe(1e6);
    expect(g.limitUs).toBe(0);
  });

  it("at the default maximum, keeps catching a kernel client's gaps of 100-300 µs between calls", () => {
    // bench:work through the Linux kernel client (docs/perf-notes.md, branch work8): the loop waits 100-300 µs
    // from a reply to the next call. haltpoll's 200 µs maximum let each gap over it halve the window, down to
    // 0 after two such gaps, so the calls after them paid the wake-up.
    const g = new PollGovernor(DEFAULT_BUSY_POLL_US);
    const gaps = [120, 180, 260, 150, 290, 230, 110, 300, 270, 240, 160, 280];
    let caught = 0;
    for (let round = 0; round < 10; round++)
      for (const gap of gaps) {
        if (gap <= g.limitUs) caught++;
        g.observe(gap);
      }
    expect(g.limitUs).toBeGreaterThanOrEqual(300);
    expect(caught).toBeGreaterThan(gaps.length * 10 - 5); // all but the first few, while the window grows
  });

  it('never grows past a maximum below the start, and never grows with a maximum of 0', () => {
    const small = new PollGovernor(20);
    small.observe(10);
    expect(small.limitUs).toBe(20);
    small.observe(15);
    expect(small.limitUs).toBe(20);
    const off = new PollGovernor(0);
    off.observe(0.5);
    off.observe(10);
    expect(off.limitUs).toBe(0);
  });
});

/** A BusyPoll on a fake clock (µs) whose loop turns are run by hand, with a fake count of preemptions. */
function harness(maxUs: number) {
  let nowUs = 0;
  const queue: Array<() => void> = [];
  const counters = { preemptions: 0 }; // µs the main thread waited for a CPU
  const p = new BusyPoll({ maxUs, clock: () => nowUs / 1000, defer: (fn) => queue.push(fn), preemptions: () => counters.preemptions });
  return {
    p,
    queue,
    counters,
    at(us: number) {
      nowUs = us;
    },
    now: () => nowUs,
    /** Runs loop turns, each `stepUs` later than the last, until the chain stops; returns how many ran. */
    spin(stepUs: number, max = 10_000): number {
      let n = 0;
      while (queue.length > 0 && n < max) {
        nowUs += stepUs;
        queue.shift()!();
        n++;
      }
      return n;
    },
  };
}

/** A call whose bytes arrive at `us` and whose reply is queued at once (a NULL, a GETATTR from cache). */
function call(h: ReturnType<typeof harness>, us: number): void {
  h.at(us);
  h.p.received();
  h.p.idle();
}

describe('BusyPoll', () => {
  it('opens a window after a reply once the wait for the network was within the maximum, and keeps it open while calls come', () => {
    const h = harness(200);
    call(h, 1_000); // first activity ever: nothing to learn from
    expect(h.queue.length).toBe(0);
    call(h, 1_030); // waited 30 µs: window of 50 µs
    expect(h.p.governor.limitUs).toBe(50);
    expect(h.p.isPolling).toBe(true);
    expect(h.queue.length).toBe(1);
    expect(h.spin(10, 3)).toBe(3); // now 1060: 30 µs since the last activity, still polling
    h.p.received(); // caught by the poll: the window stays, its clock restarts at the next turn
    h.p.idle();
    expect(h.p.governor.limitUs).toBe(50);
    const turns = h.spin(10);
    // the activity is seen by the turn at 1070; the window expires at 1120 (turns at 1070..1120)
    expect(turns).toBe(6);
    expect(h.p.isPolling).toBe(false);
    expect(h.queue.length).toBe(0);
    expect(h.p.windows).toBe(1);
    expect(h.p.pollSeconds * 1e6).toBeCloseTo(1_120 - 1_030, 6);
  });

  it('lets a loop whose calls come far apart block: gaps over the maximum close the window', () => {
    const h = harness(200);
    let t = 0;
    for (const gap of [0, 30, 80, 150]) {
      t += gap;
      call(h, t);
      h.spin(1_000); // one turn: each window expires at once on this coarse clock
    }
    expect(h.p.governor.limitUs).toBe(200);
    for (const expected of [100, 50, 0]) {
      t += 10_000;
      call(h, t);
      expect(h.p.governor.limitUs).toBe(expected);
      h.spin(1_000);
    }
    expect(h.p.isPolling).toBe(false);
    call(h, t + 10_000);
    expect(h.queue.length).toBe(0); // window 0: the loop blocks
  });

  it('does not poll while a call runs, nor learn from the time the call took', () => {
    const h = harness(200);
    call(h, 0);
    call(h, 20);
    expect(h.p.governor.limitUs).toBe(50);
    h.spin(100); // the window expires
    // a call that goes to the thread pool: no window while it runs
    h.at(300);
    h.p.received(); // waited 280 µs (> max): shrinks to 0... (50 / 2 < 50)
    expect(h.p.governor.limitUs).toBe(0);
    call(h, 310); // waited 10 µs: grows back to 50
    expect(h.p.governor.limitUs).toBe(50);
    h.spin(100);
    h.at(320);
    h.p.received();
    h.p.callStarted();
    h.p.idle();
    expect(h.queue.length).toBe(0);
    h.at(5_000); // the call took 4.7 ms; more bytes came meanwhile: not a wait for the network
    h.p.received();
    expect(h.p.governor.limitUs).toBe(50);
    h.p.callFinished();
    h.p.idle(); // its reply: now the loop waits for the network
    expect(h.queue.length).toBe(1);
    // a call that starts while the loop polls ends the window at the next turn
    h.p.callStarted();
    expect(h.spin(1)).toBe(1);
    expect(h.p.isPolling).toBe(false);
    h.p.callFinished();
  });

  it('never polls with a maximum of 0, nor after stop()', () => {
    const off = harness(0);
    expect(off.p.enabled).toBe(false);
    for (let t = 0; t < 100; t += 10) call(off, t);
    expect(off.queue.length).toBe(0);
    expect(off.p.windows).toBe(0);

    const h = harness(200);
    call(h, 0);
    call(h, 20);
    expect(h.queue.length).toBe(1);
    h.p.stop();
    expect(h.spin(1)).toBe(1); // the pending turn ends the window
    expect(h.p.isPolling).toBe(false);
    call(h, 40);
    expect(h.queue.length).toBe(0);
  });

  it('stops polling when the process was preempted during a window, and holds off for 10 ms, doubling while it recurs', () => {
    const h = harness(200);
    call(h, 0);
    call(h, 20);
    expect(h.queue.length).toBe(1);
    h.counters.preemptions += 501; // the loop waited 501 µs for the CPU meanwhile: another task ran
    h.spin(100); // the window expires at 120 µs: the check finds the preemption
    expect(h.p.preempted).toBe(1);
    expect(h.p.governor.limitUs).toBe(0);
    call(h, 200); // waited 180 µs: the window grows again ...
    expect(h.p.governor.limitUs).toBe(50);
    expect(h.queue.length).toBe(0); // ... but none opens before 10,120 µs
    call(h, 10_000);
    call(h, 10_100);
    expect(h.queue.length).toBe(0);
    call(h, 10_130); // past the hold
    expect(h.queue.length).toBe(1);
    h.counters.preemptions += 1000;
    h.spin(100); // expires at 10,230: preempted again, held for 20 ms
    expect(h.p.preempted).toBe(2);
    call(h, 30_000);
    call(h, 30_100);
    expect(h.queue.length).toBe(0);
    call(h, 30_240);
    expect(h.queue.length).toBe(1);
    h.spin(100); // a window without preemption: the hold is back to 10 ms
    expect(h.p.preempted).toBe(2);
    call(h, 30_400);
    h.counters.preemptions += 1000;
    h.spin(100); // a 200 µs window now: preempted at its end (30,600), held until 40,600
    expect(h.p.preempted).toBe(3);
    call(h, 40_400);
    call(h, 40_550);
    expect(h.queue.length).toBe(0);
    call(h, 40_610);
    expect(h.queue.length).toBe(1);
  });

  it('resets the hold at each clean check of a window that calls keep open, so a rare preemption holds off 10 ms', () => {
    const h = harness(200);
    /** a window kept open by calls caught by the poll, for `turns` turns of the loop (1 µs each) */
    const calls = (turns: number) => {
      for (let i = 0; i < turns; i++) {
        h.spin(1, 1);
        h.p.received();
        h.p.idle();
      }
    };
    call(h, 0);
    call(h, 20);
    calls(300);
    h.counters.preemptions += 1000;
    h.spin(1, 200); // preempted: held off 10 ms, the next hold would be 20 ms
    expect(h.p.preempted).toBe(1);
    let t = h.now() + 10_100;
    call(h, t);
    call(h, t + 100); // past the hold: a window opens and calls keep it open (replies in their call's turn)
    expect(h.p.isPolling).toBe(true);
    calls(1000); // several clean checks: contention is gone
    expect(h.p.isPolling).toBe(true);
    h.counters.preemptions += 1000;
    h.spin(1, 200);
    expect(h.p.preempted).toBe(2);
    t = h.now() + 10_100; // 10 ms later, not 20: the clean checks reset the hold
    call(h, t);
    call(h, t + 100);
    expect(h.p.isPolling).toBe(true);
  });

  it('takes a wait of 500 µs or less for a CPU as no contention', () => {
    const h = harness(200);
    call(h, 0);
    call(h, 20);
    h.counters.preemptions += 500;
    h.spin(100);
    expect(h.p.preempted).toBe(0);
    call(h, 150);
    expect(h.queue.length).toBe(1);
  });

  it('reads the run-queue wait of the main thread, which only grows', () => {
    const wait = runQueueWait();
    const a = wait();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
    const b = wait();
    expect(Number.isFinite(a) && x > 0).toBe(true);
    expect(b).toBeGreaterThanOrEqual(a);
  });

  it('checks a long window for preemption every 128 turns', () => {
    const h = harness(200);
    call(h, 0);
    call(h, 20);
    for (let i = 0; i < 500; i++) {
      h.spin(1, 1);
      h.p.received(); // calls keep coming, each caught
      h.p.idle();
    }
    expect(h.p.isPolling).toBe(true);
    h.counters.preemptions += 1000;
    expect(h.spin(1, 200)).toBeLessThanOrEqual(128);
    expect(h.p.isPolling).toBe(false);
    expect(h.p.preempted).toBe(1);
  });
});
