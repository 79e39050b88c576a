// Adaptive busy-polling of the event loop after RPC activity, the way Linux's cpuidle haltpoll governor
// (drivers/cpuidle/governors/haltpoll.c, Documentation/virt/guest-halt-polling.rst) polls before halting a
// guest's vCPU. When the loop has nothing to do, libuv blocks in epoll_wait; on a virtual machine whose
// guest halt-polling is off the CPU then halts, and the next request wakes it through a VM exit: tens of
// microseconds per call with one call in flight (docs/perf-notes.md, "Busy-polling the event loop").
// After activity (a call read, a reply written) while no call is running, the loop is kept turning with
// epoll_wait(timeout 0), through a chain of setImmediate, for a window that adapts to how long the loop
// waited for the network (from its last activity to the next call's bytes, no call running meanwhile):
//   - longer than the window but within the maximum: the window grows (×2, at least 50 µs, at most the
//     maximum), since a longer poll would have caught it;
//   - longer than the maximum: the window shrinks (÷2; below 50 µs it becomes 0): polling was wasted;
//   - caught by the poll: unchanged.
// While an asynchronous call runs the loop does not poll (see callStarted). An idle daemon never polls: a
// window begins only at activity and ends at most `maxUs` after the last.
// The kernel's poll stops the moment another task wants the CPU (need_resched); a spinning process cannot
// see that, and under EEVDF a task woken on its CPU may wait for the spinner's slice. So the poller reads the
// main thread's run-queue wait (/proc/self/task/PID/schedstat, ~2 µs) when a window opens and ends (and every
// 128 turns of a long one): if the thread waited more than 500 µs for the CPU meanwhile, another task needed
// this CPU (a kernel client's relay, a thread-pool thread, another program): polling stops (window 0) and
// is held off for 10 ms, doubling while it keeps happening (up to 1 s). Without schedstat, any involuntary
// context switch of the process counts.
// Knows nothing of NFS: RpcConnection and RpcUdpServer tell it of reads, replies and calls.

import { openSync, readSync } from 'node:fs';

/**
 * The main thread's run-queue wait so far (µs), from /proc/self/task/PID/schedstat (its second field, ns);
 * where that is missing, the process's involuntary context switches, each counted as more than CONTENDED_US.
 */
export function runQueueWait(): () => number {
  let fd = -1;
  try {
    fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  } catch {
    return () => process.resourceUsage().involuntaryContextSwitches * (CONTENDED_US + 1);
  }
  const buf = Buffer.alloc(128);
  return () => {
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.toString('latin1', 0, n);
    const a = line.indexOf(' ');
    return Number(line.slice(a + 1, line.indexOf(' ', a + 1))) / 1000;
  };
}

/** haltpoll's guest_halt_poll_grow_start (50 µs), guest_halt_poll_grow and _shrink (2). */
export const GROW_START_US = 50;
const GROW = 2;
const SHRINK = 2;
/**
 * The maximum window suggested when polling is turned on (off by default): 500 µs, more than haltpoll's
 * guest_halt_poll_ns (200 µs). Through the Linux kernel client at one call in flight (bench:work: tar, git,
 * find) the loop waits 100-300 µs from a reply to the next call (the client's round trip and its own work
 * between calls); a 200 µs maximum sits inside that spread, so gaps just over it shrink the window to 0 again
 * and again and most calls pay the wake-up (docs/perf-notes.md, "branch work8").
 */
export const DEFAULT_BUSY_POLL_US = 500;
/** After a window in which the process was preempted, no polling for this long (ms), doubled while it recurs. */
export const HOLD_START_MS = 10;
export const HOLD_MAX_MS = 1000;
/** A long window checks for preemption every this many turns of the loop (a check costs ~2 µs). */
const CHECK_EVERY = 128;
/** Run-queue wait (µs) during a window above which another task is taken to have needed the CPU. */
export const CONTENDED_US = 500;

/** The window's size, adapted to the gaps between activities (haltpoll.c adjust_poll_limit). */
export class PollGovernor {
  /** the current window (µs); 0: no polling */
  limitUs = 0;

  constructor(
    readonly maxUs: number,
    readonly growStartUs = GROW_START_US,
  ) {}

  /** The loop waited `gapUs` (polling, then blocked) between two activities. */
  observe(gapUs: number): void {
    if (gapUs <= this.limitUs) return; // the poll caught it
    if (gapUs <= this.maxUs) {
      this.limitUs = Math.min(this.maxUs, Math.max(this.growStartUs, this.limitUs * GROW));
    } else {
      const v = this.limitUs / SHRINK;
      this.limitUs = v < this.growStartUs ? 0 : v;
    }
  }
}

export interface BusyPollOptions {
  /** the largest window (µs); 0 turns polling off */
  maxUs: number;
  /** milliseconds, monotonic (default performance.now) */
  clock?: () => number;
  /** runs fn on the next turn of the loop without letting it block (default setImmediate) */
  defer?: (fn: () => void) => void;
  /** µs the main thread has waited for a CPU so far (default: schedstat, see runQueueWait) */
  preemptions?: () => number;
}

export class BusyPoll {
  readonly governor: PollGovernor;
  private readonly clock: () => number;
  private readonly defer: (fn: () => void) => void;
  /** when the last activity was seen (ms; -1: never) */
  private last = -1;
  private polling = false;
  /** activity since the last turn of the polling chain */
  private seen = false;
  private stopped = false;
  /** asynchronous calls running (on the thread pool, or waiting for the store) */
  private running = 0;
  private windowStart = 0;
  private readonly preemptions: () => number;
  /** preemptions when the window opened or was last checked */
  private preemptedBefore = 0;
  private turns = 0;
  /** no window opens before this (ms), after preemption */
  private holdUntil = -1;
  private holdMs = HOLD_START_MS;
  /** seconds the loop was kept polling (from a window's first activity until it expired) */
  pollSeconds = 0;
  /** windows opened */
  windows = 0;
  /** windows ended because another task needed the CPU */
  preempted = 0;

  constructor(opts: BusyPollOptions) {
    this.governor = new PollGovernor(Math.max(0, opts.maxUs));
    this.clock = opts.clock ?? (() => performance.now());
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
    this.preemptions = opts.preemptions ?? (this.enabled ? runQueueWait() : () => 0);
  }

  get enabled(): boolean {
    return this.governor.maxUs > 0;
  }

  get isPolling(): boolean {
    return this.polling;
  }

  /**
   * Bytes of a call arrived (a socket read, a datagram), before they are handled. When no call was running,
   * the time since the last activity is how long the loop waited for the network: the governor learns from it.
   */
  received(): void {
    if (this.polling) {
      this.seen = true;
      return;
    }
    if (this.governor.maxUs <= 0 || this.stopped) return;
    const now = this.clock();
    if (this.running === 0 && this.last >= 0) this.governor.observe((now - this.last) * 1000);
    this.last = now;
  }

  /**
   * Input was handled or a reply queued: unless a call is still running, the loop may have nothing to do
   * until the next call, so it polls for the window (or, polling already, restarts the window's clock).
   */
  idle(): void {
    if (this.polling) {
      this.seen = true;
      return;
    }
    if (this.governor.maxUs <= 0 || this.stopped || this.running > 0) return;
    const now = this.clock();
    this.last = now;
    if (this.governor.limitUs <= 0 || now < this.holdUntil) return;
    this.polling = true;
    this.windowStart = now;
    this.windows++;
    this.turns = 0;
    this.preemptedBefore = this.preemptions();
    this.defer(this.turn);
  }

  /**
   * An asynchronous call started / finished. While one runs the loop does not poll: what it waits for is
   * thread-pool work (fs calls, fsync, hashing) which, when the daemon's threads share one CPU, needs that
   * CPU; a spinning main thread would delay it (EEVDF lets the running task keep the CPU up to its slice).
   */
  callStarted(): void {
    this.running++;
  }

  callFinished(): void {
    if (this.running > 0) this.running--;
  }

  /** No more polling (the server closes); activity then does nothing. */
  stop(): void {
    this.stopped = true;
  }

  /** One turn of the loop while polling: goes on until the window since the last activity has passed. */
  private turn = (): void => {
    const now = this.clock();
    if (this.seen) {
      this.seen = false;
      this.last = now;
    }
    const going = !this.stopped && this.running === 0 && (now - this.last) * 1000 < this.governor.limitUs;
    if (going && ++this.turns % CHECK_EVERY !== 0) {
      this.defer(this.turn);
      return;
    }
    const p = this.preemptions();
    const preempted = p - this.preemptedBefore > CONTENDED_US;
    this.preemptedBefore = p;
    if (preempted) {
      // another task wanted this CPU: stop, and stay off for a while
      this.preempted++;
      this.governor.limitUs = 0;
      this.holdUntil = now + this.holdMs;
      this.holdMs = Math.min(HOLD_MAX_MS, this.holdMs * 2);
    } else {
      // a clean check: contention, if it comes back, is held off from the start again. A window that calls
      // keep open (replies sent in their call's turn, one call after another) may never end: its clean checks
      // are what resets the hold, or every preemption in a long run would double it up to HOLD_MAX_MS
      this.holdMs = HOLD_START_MS;
      if (going) {
        this.defer(this.turn);
        return;
      }
    }
    this.polling = false;
    this.pollSeconds += (now - this.windowStart) / 1000;
  };
}
