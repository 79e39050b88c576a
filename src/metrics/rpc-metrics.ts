// RPC metrics: an RpcObserver (rpc/observer.ts) that counts calls per program/procedure/status, times
// them, and counts rejected calls and duplicate-request-cache hits. Labels are bounded: program and
// procedure names come from the registered tables, status from the fixed lists below.
// Defined when metrics are turned on (registry.ts): the hot-path series (hot.ts) count from the start.
import type { Counter } from 'prom-client';
import type { RejectReason, RpcObserver } from '../../rpc/observer.js';
import { LATENCY_BUCKETS, onMetrics } from './registry.js';
import { HotCounter, HotHistogram, type CounterSeries, type HistogramSeries } from './hot.js';

const PROGRAMS: Record<number, string> = { 100000: 'portmap', 100003: 'nfs', 100005: 'mount', 100227: 'nfs_acl', 100021: 'nlm' };

/** nfsstat3 (RFC 1813 2.6) and mountstat3 (RFC 1813 5.1.2; same numbers where they overlap). */
const NFS_STATUS: Record<number, string> = {
  0: 'ok',
  1: 'perm',
  2: 'noent',
  5: 'io',
  6: 'nxio',
  13: 'acces',
  17: 'exist',
  18: 'xdev',
  19: 'nodev',
  20: 'notdir',
  21: 'isdir',
  22: 'inval',
  27: 'fbig',
  28: 'nospc',
  30: 'rofs',
  31: 'mlink',
  63: 'nametoolong',
  66: 'notempty',
  69: 'dquot',
  70: 'stale',
  71: 'remote',
  10001: 'badhandle',
  10002: 'not_sync',
  10003: 'bad_cookie',
  10004: 'notsupp',
  10005: 'toosmall',
  10006: 'serverfault',
  10007: 'badtype',
  10008: 'jukebox',
};
const ACCEPT_STAT: Record<number, string> = {
  1: 'prog_unavail',
  2: 'prog_mismatch',
  3: 'proc_unavail',
  4: 'garbage_args',
  5: 'system_err',
};

export function programName(prog: number): string {
  return PROGRAMS[prog] ?? 'other';
}

const calls = new HotCounter(
  'mic_rpc_calls_total',
  'RPC calls handled, by program, procedure and status (ok, an NFS/MOUNT error such as noent, or garbage_args/system_err)',
);
const duration = new HotHistogram(
  'mic_rpc_call_duration_seconds',
  "Time from a call's dispatch to its reply being queued, by program and procedure",
  LATENCY_BUCKETS,
);
const inFlight = new HotCounter('mic_rpc_calls_in_flight', 'RPC calls being handled now, by program', 'gauge');
let rejected: Counter<'reason'> | null = null;
let drcHits: Counter<'state'> | null = null;
let connectionSources: Array<() => number> = [];
let busyPolls: Array<{ pollSeconds: number; windows: number; preempted: number }> = [];

onMetrics(({ Counter, Gauge }, registry) => {
  rejected = new Counter({
    name: 'mic_rpc_rejected_calls_total',
    help: 'RPC calls answered without running a procedure (no such program/version/procedure, bad credentials, bad header)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  drcHits = new Counter({
    name: 'mic_rpc_drc_hits_total',
    help: 'Retransmissions found in the duplicate-request cache: answered from it (done) or dropped while the original runs (in_progress)',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'mic_rpc_connections',
    help: 'Open RPC (TCP) connections',
    registers: [registry],
    collect() {
      this.set(connectionSources.reduce((n, f) => n + f(), 0));
    },
  });
  new Counter({
    name: 'mic_rpc_busy_poll_seconds_total',
    help: 'Time the event loop was kept polling after RPC activity instead of blocking (--busy-poll-us; rpc/busy-poll.ts)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(busyPolls.reduce((n, p) => n + p.pollSeconds, 0));
    },
  });
  new Counter({
    name: 'mic_rpc_busy_poll_windows_total',
    help: 'Busy-poll windows opened after RPC activity (rpc/busy-poll.ts)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(busyPolls.reduce((n, p) => n + p.windows, 0));
    },
  });
  new Counter({
    name: 'mic_rpc_busy_poll_preempted_total',
    help: 'Busy-poll windows ended because another task needed the CPU (polling then pauses; rpc/busy-poll.ts)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(busyPolls.reduce((n, p) => n + p.preempted, 0));
    },
  });
});

/** Reports a busy-poll's time and windows as mic_rpc_busy_poll_*; returns the undo. */
export function observeBusyPoll(p: { pollSeconds: number; windows: number; preempted: number }): () => void {
  busyPolls.push(p);
  return () => {
    busyPolls = busyPolls.filter((q) => q !== p);
  };
}

/** Counts a server's open connections into mic_rpc_connections; returns the undo. */
export function countConnections(f: () => number): () => void {
  connectionSources.push(f);
  return () => {
    connectionSources = connectionSources.filter((g) => g !== f);
  };
}

/** Status label of a finished call: the accept_stat when not SUCCESS, else the NFS/MOUNT status word. */
export function statusLabel(prog: number, acceptStat: number, result: number): string {
  if (acceptStat !== 0) return ACCEPT_STAT[acceptStat] ?? 'other';
  if (result < 0 || (prog !== 100003 && prog !== 100005)) return 'ok';
  return NFS_STATUS[result] ?? 'other';
}

/** The series of one program/procedure, bound once: a call then costs no label lookups. */
interface ProcSeries {
  inFlight: CounterSeries;
  duration: HistogramSeries;
  calls: Map<string, CounterSeries>;
  program: string;
  procedure: string;
}

/** Where an RpcMetrics counts: the daemon's registered metrics, or a private set (privateRpcMetrics). */
interface RpcSinks {
  calls: HotCounter;
  duration: HotHistogram;
  inFlight: HotCounter;
}

export class RpcMetrics implements RpcObserver {
  private readonly series = new Map<number, Map<string, ProcSeries>>();

  constructor(private readonly sinks: RpcSinks = { calls, duration, inFlight }) {}

  private of(prog: number, name: string): ProcSeries {
    let byName = this.series.get(prog);
    if (byName === undefined) this.series.set(prog, (byName = new Map()));
    let s = byName.get(name);
    if (s === undefined) {
      const program = programName(prog);
      s = {
        inFlight: this.sinks.inFlight.series({ program }),
        duration: this.sinks.duration.series({ program, procedure: name }),
        calls: new Map(),
        program,
        procedure: name,
      };
      byName.set(name, s);
    }
    return s;
  }

  callStarted(prog: number, _vers: number, _proc: number, name: string): void {
    this.of(prog, name).inFlight.n++;
  }

  callDone(prog: number, _vers: number, _proc: number, name: string, acceptStat: number, result: number, seconds: number): void {
    const s = this.of(prog, name);
    s.inFlight.n--;
    const status = statusLabel(prog, acceptStat, result);
    let c = s.calls.get(status);
    if (c === undefined) s.calls.set(status, (c = this.sinks.calls.series({ program: s.program, procedure: s.procedure, status })));
    c.n++;
    s.duration.observe(seconds);
  }

  callRejected(_prog: number, _vers: number, _proc: number, reason: RejectReason): void {
    rejected?.inc({ reason });
  }

  drcHit(state: 'done' | 'in-progress'): void {
    drcHits?.inc({ state: state === 'done' ? 'done' : 'in_progress' });
  }
}

/** An RpcMetrics whose series are its own and never scraped (the start-up warm-up runs the observer's code
 *  without counting in the daemon's metrics), and its calls per procedure. Rejections and DRC hits still go
 *  to the shared counters: the warm-up makes none. */
export function privateRpcMetrics(): { observer: RpcMetrics; calls: () => Record<string, number> } {
  const own = new HotCounter(calls.name, calls.help, 'counter', false);
  const observer = new RpcMetrics({
    calls: own,
    duration: new HotHistogram(duration.name, duration.help, LATENCY_BUCKETS, false),
    inFlight: new HotCounter(inFlight.name, inFlight.help, 'gauge', false),
  });
  return {
    observer,
    calls: () => {
      const byProc: Record<string, number> = {};
      for (const v of own.get().values) byProc[v.labels.procedure!] = (byProc[v.labels.procedure!] ?? 0) + v.value;
      return byProc;
    },
  };
}

/** NFS data bytes moved by READ and WRITE (counted by the procedures): series bound once (hot.ts), as
 *  prom-client's own counter hashed the label set on every READ (3 µs, a tenth of a 4 KiB READ). */
const nfsBytesHot = new HotCounter(
  'mic_nfs_data_bytes_total',
  'File data bytes returned by NFS READ (op="read") and accepted by NFS WRITE (op="write")',
);
const nfsReadBytes = nfsBytesHot.series({ op: 'read' });
const nfsWriteBytes = nfsBytesHot.series({ op: 'write' });
export const nfsBytes = {
  inc(labels: { op: 'read' | 'write' }, n: number): void {
    (labels.op === 'read' ? nfsReadBytes : nfsWriteBytes).n += n;
  },
  /** The counts now; the returned function sets them back (the start-up warm-up's bytes, moved before listening). */
  mark(): () => void {
    const read = nfsReadBytes.n;
    const write = nfsWriteBytes.n;
    return () => {
      nfsReadBytes.n = read;
      nfsWriteBytes.n = write;
    };
  },
};
