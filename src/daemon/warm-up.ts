// Start-up warm-up of the NFS call path (docs/perf-notes.md, "... (branch meta8)" and "... (branch warm9)"). A
// freshly started daemon runs its first calls in V8's interpreter, and V8 compiles the hot functions meanwhile
// on helper threads that share the daemon's CPU: the first ~15,000 calls cost 2-4x what later ones do, so the
// first clone or untar after a start pays it. Before listening, the daemon runs a bounded series of synthetic
// calls (warm-up-round.ts: what a kernel client's clone, build or untar sends, READ, WRITE and COMMIT included)
// over a real loopback connection to a private RPC server: the same socket, record, dispatch, reply and
// busy-poll code its clients reach, the MOUNT and NFS programs, SessionFs, the session core and its journal,
// against scratch sessions in a scratch data directory, then closes and removes it all:
//   - nothing of the daemon's data dir is touched: its own catalog, store, journal, handle secret and
//     temporary directory, deleted at the end whatever happens (no files left, no journal records, no event);
//   - invisible in the metrics: the private server counts calls in private series (privateRpcMetrics), polls
//     with its own BusyPoll, and the READ/WRITE byte counters are set back at the end (nfsBytes.mark);
//   - bounded: at most `calls` calls and `maxMs` of wall-clock time, in the daemon's own process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { RpcServer } from '../../rpc/server.js';
import { RpcClient } from '../../rpc/client.js';
import { BusyPoll } from '../../rpc/busy-poll.js';
import { nfsProgram } from '../nfs/program.js';
import { MountProc, mountProgram } from '../mount/program.js';
import { MOUNT_PROGRAM, MOUNT_V3 } from '../mount/common.js';
import { NFS_PROGRAM, NFS_V3 } from '../nfs/common.js';
import { HandleCodec } from '../fs/handles.js';
import { SessionExports } from '../session/exports.js';
import { Catalog } from '../session/catalog.js';
import { startSession } from '../session/start.js';
import { fsidOf } from '../session/record.js';
import { importTree, initProject } from '../session/project.js';
import { LocalBackend } from '../store/local-backend.js';
import { XdrWriter, type XdrReader } from '../../rpc/xdr.js';
import { nfsBytes, privateRpcMetrics } from '../metrics/rpc-metrics.js';
import { CALLS_PER_FILE, FILES, warmUpRound } from './warm-up-round.js';

/** Calls of a default warm-up: about what V8 needs to have compiled the metadata path (perf-notes). */
export const WARM_UP_CALLS = 16_000;
/** Wall-clock bound of a warm-up (ms). */
export const WARM_UP_MAX_MS = 3_000;

export interface WarmUpOptions {
  log: Logger;
  /** at most this many calls (default WARM_UP_CALLS) */
  calls?: number;
  /** at most this long (ms, default WARM_UP_MAX_MS) */
  maxMs?: number;
  /** where the scratch directory is made (default /dev/shm where it exists, else the system's temporary dir) */
  tmpDir?: string;
  /** the daemon's busy-poll window (µs; 0: none), so that the private server polls as its clients' will */
  busyPollUs?: number;
}

export interface WarmUpResult {
  calls: number;
  ms: number;
  /** calls answered per procedure, as the private server counted them */
  procedures: Record<string, number>;
  /** bytes the warm-up's connections read and wrote */
  wire: { read: number; written: number };
  /** calls of each pass (the short first pass, then the long one; WARM_UP_FIRST_PASS_CALLS) */
  passes: number[];
}

function defaultTmpDir(): string {
  try {
    if (fs.statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return os.tmpdir();
}

/**
 * Calls of the first, short pass. Closing a connection, a server, a busy-poll and sessions writes fields that
 * were constant until then (isClosed, stopped, ...), and V8 throws away the optimized code that assumed them
 * constant: after one pass, 15 functions of the call path (Socket._write, the connection's send and closed,
 * the busy-poll's turn and idle, ...) were compiled again for the daemon's first client. A short pass closed
 * before the long one makes those fields mutable before anything is compiled against them (perf-notes,
 * "branch clone9").
 */
export const WARM_UP_FIRST_PASS_CALLS = 300;

/** Entries of the warm-up server's duplicate-request cache: a pass's ~7,000 non-idempotent calls wrap it several times. */
export const WARM_UP_DRC_ENTRIES = 1024;

/** Runs the warm-up; never throws (a failure is logged at debug and ends it). */
export async function warmUp(o: WarmUpOptions): Promise<WarmUpResult> {
  const t0 = performance.now();
  const budget = o.calls ?? WARM_UP_CALLS;
  const deadline = t0 + (o.maxMs ?? WARM_UP_MAX_MS);
  const log = o.log.child({ component: 'warm-up' }, { level: 'silent' });
  const undoBytes = nfsBytes.mark();
  const metrics = privateRpcMetrics();
  const state = { calls: 0, read: 0, written: 0 };
  const passes: number[] = [];
  try {
    for (const limit of [Math.min(budget, WARM_UP_FIRST_PASS_CALLS), budget]) {
      if (state.calls >= limit) break;
      const before = state.calls;
      const done = await warmUpPass(o, log, metrics, state, limit, deadline);
      passes.push(state.calls - before);
      if (!done) break;
    }
  } finally {
    undoBytes();
  }
  const { calls, read, written } = state;
  return { calls, ms: Math.round(performance.now() - t0), procedures: metrics.calls(), wire: { read, written }, passes };
}

/** One pass: a scratch data dir, a private server and a connection, rounds up to `budget` calls; true if it got there. */
async function warmUpPass(
  o: WarmUpOptions,
  log: Logger,
  metrics: ReturnType<typeof privateRpcMetrics>,
  state: { calls: number; read: number; written: number },
  budget: number,
  deadline: number,
): Promise<boolean> {
  let ok = false;
  let base: string | null = null;
  let exports: SessionExports | null = null;
  let timer: NodeJS.Timeout | undefined;
  let server: RpcServer | null = null;
  let client: RpcClient | null = null;
  const poll = new BusyPoll({ maxUs: o.busyPollUs ?? 0 });
  try {
    base = fs.mkdtempSync(path.join(o.tmpDir ?? defaultTmpDir(), 'mic-warm-up-'));
    const dataDir = path.join(base, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    const src = path.join(base, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'README'), 'warm-up\n');
    // a local store whatever the daemon's backend (MIC_S3_BUCKET is not read here)
    const catalog = new Catalog(new LocalBackend(path.join(dataDir, 'objects'), { log }));
    const store = catalog.store('warm-up/scratch');
    const { tree, nextIno } = await importTree(store, src);
    await initProject(store, tree, nextIno, 'warm-up');
    // two sessions, one whose fsid (a 64-bit hash of its id) is at least 2^63 and one below: code V8 compiled
    // for one kind of BigInt is thrown away at the other (deopt "not a BigInt64"), and clients' fsids are both
    const ids = twoFsids();
    for (const sessionId of ids) await startSession(catalog, { project: 'warm-up/scratch', goal: 'warm-up', sessionId });
    exports = new SessionExports({
      catalog,
      dataDir,
      handles: new HandleCodec(randomBytes(32)),
      writeVerifier: randomBytes(8),
      allow: { allows: () => true, specs: [] },
      log,
    });
    // a duplicate-request cache small enough to fill: the daemon's (8192 entries) fills during a client's first
    // ~8,000 non-idempotent calls, and the path that reuses its oldest slot, never taken in a warm-up whose
    // cache did not fill, was compiled then, in the middle of the client's run (perf-notes, branch deopt11)
    server = new RpcServer({ logger: log, observer: metrics.observer, busyPoll: poll, drc: { maxEntries: WARM_UP_DRC_ENTRIES } });
    server.register(mountProgram(exports, log));
    server.register(nfsProgram(exports, log)); // no squashing: the scratch sessions are the daemon's user's
    const port = await server.listen(0, '127.0.0.1');
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    // xids from just below 2^30 on: V8's small integers end there, and a kernel client's xids (random at
    // mount, then counting up) are on either side; code compiled for one kind is thrown away at the other
    const auth = { stamp: 1, machine: 'warm-up', uid, gid, gids: [] };
    const c = await RpcClient.connect('127.0.0.1', port, { auth, xidBase: 2 ** 30 - 2000 });
    client = c;
    // a call that never answers (it should not happen) ends the warm-up at the deadline, not the start
    timer = setTimeout(() => c.destroy(), Math.max(0, deadline - performance.now()));
    const more = () => state.calls < budget && performance.now() < deadline;
    const call = (proc: number, args: (w: XdrWriter) => void): Promise<XdrReader> => {
      const w = new XdrWriter(256);
      args(w);
      return c.call(NFS_PROGRAM, NFS_V3, proc, w);
    };

    const roots: Buffer[] = [];
    for (const id of ids) {
      const w = new XdrWriter(64).string(`/exports/sessions/${id}`);
      const mnt = await c.call(MOUNT_PROGRAM, MOUNT_V3, MountProc.MNT, w);
      state.calls++;
      if (mnt.u32() !== 0) throw new Error('MNT failed');
      roots.push(mnt.opaque(64));
    }
    for (let round = 0; more(); round++) {
      // each session with one call in flight, then with 16 (a client's parallel calls: several calls per
      // turn, one journal frame)
      const files = Math.max(1, Math.min(FILES, Math.floor((budget - state.calls) / CALLS_PER_FILE)));
      const done = await warmUpRound({
        call,
        root: roots[round % roots.length]!,
        name: `d${round}`,
        files,
        qd: (round >> 1) % 2 === 0 ? 1 : 16,
        more,
        count: () => void state.calls++,
      });
      if (!done) break; // the budget may have left files in it
    }
    ok = state.calls >= budget;
  } catch (e) {
    o.log.debug({ err: e, calls: state.calls }, 'warm-up ended early');
  } finally {
    clearTimeout(timer);
    if (client) {
      state.read += client.wireBytes.read;
      state.written += client.wireBytes.written;
    }
    await client?.close().catch(() => undefined);
    await server?.close();
    poll.stop();
    exports?.closeAll();
    if (base) fs.rmSync(base, { recursive: true, force: true });
  }
  return ok;
}

/** Two scratch session ids, the first with an fsid below 2^63, the second with one above. */
function twoFsids(): [string, string] {
  let low: string | null = null;
  let high: string | null = null;
  for (let i = 0; !low || !high; i++) {
    const id = `warm-up-${i}`;
    if (fsidOf(id) >= 1n << 63n) high ??= id;
    else low ??= id;
  }
  return [low, high];
}
