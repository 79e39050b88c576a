// Start-up warm-up of the NFS call path (docs/perf-notes.md, "... (branch meta8)"). A freshly started daemon
// runs its first calls in V8's interpreter, and V8 compiles the hot functions meanwhile on helper threads
// that share the daemon's CPU: the first ~15,000 metadata calls cost 2-4x what later ones do (a fresh
// daemon's first CREATE ~240 µs of CPU, after warm-up ~55 µs), so the first clone or untar after a start
// pays it. Before listening, the daemon runs a bounded series of synthetic calls through the same code its
// clients reach (RPC dispatcher and duplicate-request cache, MOUNT and NFS procedures, SessionFs, the
// session core and its journal) against a scratch session in a scratch data directory, then removes it:
//   - nothing of the daemon's data dir is touched: its own catalog, store, journal, handle secret and
//     temporary directory, deleted at the end whatever happens (no files left, no journal records, no event);
//   - no metrics: the dispatcher has no observer, and no READ or WRITE is made (they count bytes);
//   - bounded: at most `calls` calls and `maxMs` of wall-clock time, in the daemon's own process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Dispatcher, type CallSource } from '../../rpc/dispatch.js';
import { DuplicateRequestCache } from '../../rpc/drc.js';
import { ProgramRegistry } from '../../rpc/registry.js';
import { AuthSysCache, encodeAuthSys } from '../../rpc/auth.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import type { ReplyPart } from '../../rpc/file-slice.js';
import { nfsProgram } from '../nfs/program.js';
import { mountProgram } from '../mount/program.js';
import { HandleCodec } from '../fs/handles.js';
import { SessionExports } from '../session/exports.js';
import { Catalog } from '../session/catalog.js';
import { startSession } from '../session/start.js';
import { fsidOf } from '../session/record.js';
import { importTree, initProject } from '../session/project.js';
import { LocalBackend } from '../store/local-backend.js';

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
}

export interface WarmUpResult {
  calls: number;
  ms: number;
}

const NFS = 100003;
const MOUNT = 100005;
/** files per round (a directory of this many): CREATE, LOOKUP, GETATTR, SETATTR, REMOVE of each, READDIRPLUS of the directory */
const FILES = 500;

function defaultTmpDir(): string {
  try {
    if (fs.statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return os.tmpdir();
}

/** Runs the warm-up; never throws (a failure is logged at debug and ends it). */
export async function warmUp(o: WarmUpOptions): Promise<WarmUpResult> {
  const t0 = performance.now();
  const budget = o.calls ?? WARM_UP_CALLS;
  const deadline = t0 + (o.maxMs ?? WARM_UP_MAX_MS);
  const log = o.log.child({ component: 'warm-up' }, { level: 'silent' });
  let calls = 0;
  let base: string | null = null;
  let exports: SessionExports | null = null;
  let timer: NodeJS.Timeout | undefined;
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
    const registry = new ProgramRegistry();
    registry.register(mountProgram(exports, log));
    registry.register(nfsProgram(exports, log)); // no squashing: the scratch session is the daemon's user's
    const dispatcher = new Dispatcher(registry, new DuplicateRequestCache({}), log, null);
    const caller = new Caller(dispatcher, log);
    // a call that never answers (it should not happen) ends the warm-up at the deadline, not the start
    timer = setTimeout(() => caller.abort(), Math.max(0, deadline - performance.now()));
    const more = () => calls < budget && performance.now() < deadline;

    const roots: Buffer[] = [];
    for (const id of ids) {
      const mnt = await caller.call(MOUNT, 1, (w) => w.string(`/exports/sessions/${id}`));
      calls++;
      if (mnt.u32() !== 0) throw new Error('MNT failed');
      roots.push(mnt.opaque(64));
    }
    for (let round = 0; more(); round++) {
      // each session with one call in flight, then with 16 (a client's parallel calls: several calls per
      // turn, one journal frame)
      const rootFh = roots[round % roots.length]!;
      const qd = (round >> 1) % 2 === 0 ? 1 : 16;
      const made = ok(await caller.call(NFS, 9, (w) => sattr(w.opaque(rootFh).string(`d${round}`), 0o755)), 'MKDIR'); // MKDIR
      calls++;
      if (!made.u32()) throw new Error('MKDIR gave no handle');
      const dir = made.opaque(64);
      const names = Array.from({ length: Math.max(1, Math.min(FILES, Math.floor((budget - calls) / 5))) }, (_, i) => `f${i}`);
      // CREATE GUARDED (RFC 1813 3.3.8), as a client's open(O_CREAT|O_EXCL)
      await each(names, qd, more, async (name) => {
        ok(await caller.call(NFS, 8, (w) => sattr(w.opaque(dir).string(name).u32(1), 0o644)), 'CREATE');
        calls++;
      });
      calls += await readdirplus(caller, dir, more);
      const fhs = new Map<string, Buffer>();
      await each(names, qd, more, async (name) => {
        fhs.set(name, ok(await caller.call(NFS, 3, (w) => w.opaque(dir).string(name)), 'LOOKUP').opaque(64));
        calls++;
      });
      await each([...fhs.values()], qd, more, async (fh) => {
        ok(await caller.call(NFS, 1, (w) => w.opaque(fh)), 'GETATTR');
        ok(await caller.call(NFS, 2, (w) => sattr(w.opaque(fh), 0o600).u32(0)), 'SETATTR'); // no guard
        calls += 2;
      });
      await each(names, qd, more, async (name) => {
        ok(await caller.call(NFS, 12, (w) => w.opaque(dir).string(name)), 'REMOVE');
        calls++;
      });
      if (!more()) break; // the budget may have left files in it
      ok(await caller.call(NFS, 13, (w) => w.opaque(rootFh).string(`d${round}`)), 'RMDIR');
      calls++;
    }
  } catch (e) {
    o.log.debug({ err: e, calls }, 'warm-up ended early');
  } finally {
    clearTimeout(timer);
    exports?.closeAll();
    if (base) fs.rmSync(base, { recursive: true, force: true });
  }
  return { calls, ms: Math.round(performance.now() - t0) };
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

/** fn over items, at most qd at a time, while more() holds. */
async function each<T>(items: T[], qd: number, more: () => boolean, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && more()) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(qd, items.length) }, worker));
}

/** READDIRPLUS (RFC 1813 3.3.17) of the whole directory, a reply of at most 8 KiB at a time; returns the calls. */
async function readdirplus(caller: Caller, dir: Buffer, more: () => boolean): Promise<number> {
  let cookie = 0n;
  let verf: Buffer = Buffer.alloc(8);
  let n = 0;
  for (let eof = false; !eof && more(); n++) {
    const r = ok(await caller.call(NFS, 17, (w) => w.opaque(dir).u64(cookie).fixed(verf).u32(4096).u32(8192)), 'READDIRPLUS');
    skipPostOpAttr(r);
    verf = r.fixed(8);
    while (r.bool()) {
      r.u64(); // fileid
      r.string(255);
      cookie = r.u64();
      skipPostOpAttr(r);
      if (r.bool()) r.opaque(64);
    }
    eof = r.bool();
  }
  return n;
}

/** post_op_attr: a fattr3 (84 bytes) if it follows. */
function skipPostOpAttr(r: XdrReader): void {
  if (r.bool()) r.skip(84);
}

/** sattr3 (RFC 1813 2.5.3): mode set, nothing else. */
function sattr(w: XdrWriter, mode: number): XdrWriter {
  return w.u32(1).u32(mode).u32(0).u32(0).u32(0).u32(0).u32(0);
}

/** The reply's nfsstat3 must be NFS3_OK; returns the reader after it. */
function ok(r: XdrReader, what: string): XdrReader {
  const s = r.u32();
  if (s !== 0) throw new Error(`${what}: nfsstat3 ${s}`);
  return r;
}

/** One call at a time through the dispatcher, as a connection would hand it over. */
class Caller implements CallSource {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly closed = false;
  readonly authCache = new AuthSysCache();
  private readonly cred = encodeAuthSys({
    stamp: 1,
    machine: 'warm-up',
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    gids: [],
  });
  private xid = 1;
  /** calls in flight: xid -> their promise's settlers */
  private readonly pending = new Map<number, { resolve: (r: XdrReader) => void; reject: (e: Error) => void }>();
  private aborted = false;

  constructor(
    private readonly dispatcher: Dispatcher,
    readonly log: Logger,
  ) {}

  call(prog: number, proc: number, args: (w: XdrWriter) => void): Promise<XdrReader> {
    if (this.aborted) return Promise.reject(new Error('warm-up: out of time'));
    return new Promise((resolve, reject) => {
      const xid = this.xid++;
      this.pending.set(xid, { resolve, reject });
      const w = new XdrWriter(256);
      w.u32(xid).u32(0).u32(2).u32(prog).u32(3).u32(proc);
      w.u32(1).opaque(this.cred).u32(0).u32(0);
      args(w);
      this.dispatcher.dispatch(w.toBuffer(), this);
    });
  }

  /** Rejects the call in flight and every later one. */
  abort(): void {
    this.aborted = true;
    for (const p of this.pending.values()) p.reject(new Error('warm-up: a call did not answer in time'));
    this.pending.clear();
  }

  /** A reply: record mark (4), xid, REPLY, MSG_ACCEPTED, verifier (flavor, length 0), SUCCESS, then the results. */
  private answer(reply: Buffer): void {
    const xid = reply.readUInt32BE(4);
    const p = this.pending.get(xid);
    this.pending.delete(xid);
    p?.resolve(new XdrReader(reply, 4 + 24));
  }

  send(chunks: ReplyPart[], onSent?: () => void): void {
    const parts = chunks.filter((c): c is Buffer => Buffer.isBuffer(c));
    onSent?.();
    this.answer(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  sendOne(buf: Buffer): void {
    this.answer(buf);
  }

  asyncStarted(): void {}
  asyncFinished(): void {}
}
