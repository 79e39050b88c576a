// node scripts/bench-call.mjs [CALLS] [BUILD_ROOT]: server CPU per NFS call at one call in flight, in-process,
// through everything of the daemon's call path but the socket: the RPC dispatcher (header, AUTH_SYS cache,
// duplicate-request cache, metrics observer), the NFS procedures, SessionFs, the session core and its
// journal (group commit, fdatasync) on /dev/shm as `npm run bench` runs mic-fs. Each call is a real RPC
// record; the next is dispatched when the reply has been handed to the connection (as a qd1 client does).
// Rows: NULL, GETATTR, LOOKUP, CREATE (guarded, mode 0644, as nfs-bench), REMOVE, SETATTR (mode changed,
// mode unchanged, times set to the server's clock, owner unchanged: an untar's four), READ and UNSTABLE WRITE of
// 4 KiB in a 256 KiB file of the session (nfs-bench's randread / randwrite). Prints the minimum
// over 7 rounds (after a warm-up round) of process CPU (user + system) per call, µs, as JSON. BUILD_ROOT
// (default: this checkout) is a built checkout whose dist/ is measured, for before/after comparisons
// (docs/perf-notes.md). The socket's own cost (epoll wake-up, read, write) is not in these figures.
// BENCH_CALL_GC=1 also prints <row>_scavenges_per_1k: young-generation collections per 1,000 calls over the
// measured rounds, a figure of the memory a call allocates that the machine's load does not move (run with
// `node --min-semi-space-size=1 --max-semi-space-size=1` so that each collection is ~1 MiB allocated).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { performance, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';

const N = Number(process.argv[2] ?? 2000);
/** BENCH_CALL_GAP=sleep: the process sleeps ~1 ms (a timer) before each call, as a server at one call in flight
 *  waits for the next call; =spin: it spins 1 ms instead (busy, keeping its CPU). Only the calls are counted. */
const GAP = process.env.BENCH_CALL_GAP;
const root = path.resolve(process.argv[3] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const D = path.join(root, 'dist');
const { Dispatcher } = await import(`${D}/rpc/dispatch.js`);
const { DuplicateRequestCache } = await import(`${D}/rpc/drc.js`);
const { ProgramRegistry } = await import(`${D}/rpc/registry.js`);
const { AuthSysCache, encodeAuthSys } = await import(`${D}/rpc/auth.js`);
const { XdrWriter, XdrReader } = await import(`${D}/rpc/xdr.js`);
const { nfsProgram } = await import(`${D}/src/nfs/program.js`);
const { mountProgram } = await import(`${D}/src/mount/program.js`);
const { HandleCodec } = await import(`${D}/src/fs/handles.js`);
const { SessionExports } = await import(`${D}/src/session/exports.js`);
const { SnapshotExports } = await import(`${D}/src/session/snapshots.js`);
const { handleSecret, openCatalog } = await import(`${D}/src/daemon/data-dir.js`);
const { RpcMetrics } = await import(`${D}/src/metrics/rpc-metrics.js`);

const tmp = fs.mkdtempSync(
  fs.existsSync('/dev/shm') ? '/dev/shm/mic-bench-call-' : path.join(process.env.TMPDIR ?? '/tmp', 'mic-bench-call-'),
);
const log = pino({ level: 'silent' });
try {
  const dataDir = path.join(tmp, 'data');
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'README.md'), 'benchmark project\n');
  const mic = (...a) =>
    execFileSync(process.execPath, [path.join(D, 'src/cli/main.js'), ...a, '--data-dir', dataDir], { encoding: 'utf8' });
  mic('project', 'init', 'bench/call', '--from', src);
  const sid = JSON.parse(mic('session', 'start', '--project', 'bench/call', '--goal', 'bench', '--json')).session.session_id;

  const catalog = openCatalog(dataDir, { log });
  const handles = new HandleCodec(handleSecret(dataDir, log));
  const writeVerifier = Buffer.alloc(8, 1);
  const snapshots = new SnapshotExports({ catalog, dataDir, handles, writeVerifier, log });
  const exports = new SessionExports({
    snapshots,
    catalog,
    dataDir,
    handles,
    writeVerifier,
    allow: { allows: () => true, specs: [] },
    log,
  });
  await exports.preload();
  exports.startLeases();
  const registry = new ProgramRegistry();
  registry.register(mountProgram(exports, log));
  registry.register(nfsProgram(exports, log));
  const dispatcher = new Dispatcher(
    registry,
    process.env.BENCH_CALL_DRC === '0' ? null : new DuplicateRequestCache({}),
    log,
    process.env.BENCH_CALL_METRICS === '0' ? null : new RpcMetrics(),
  );

  let answer = null;
  const source = {
    remoteAddress: '127.0.0.1',
    remotePort: 800,
    closed: false,
    authCache: new AuthSysCache(),
    log,
    send(chunks, onSent) {
      const r = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      onSent?.();
      answer(r);
    },
    sendOne(buf) {
      answer(buf);
    },
    asyncStarted() {},
    asyncFinished() {},
  };
  const cred = encodeAuthSys({ stamp: 1, machine: 'bench', uid: 0, gid: 0, gids: [0] });
  let xid = 1;
  /** One call; resolves with a reader at the procedure's results. */
  const call = (prog, proc, args) =>
    new Promise((resolve) => {
      answer = (reply) => resolve(new XdrReader(reply, 4 + 24));
      const w = new XdrWriter(256);
      w.u32(xid++).u32(0).u32(2).u32(prog).u32(3).u32(proc);
      w.u32(1).opaque(cred).u32(0).u32(0);
      if (args) args(w);
      dispatcher.dispatch(w.toBuffer(), source);
    });
  const NFS = 100003;
  const mnt = await call(100005, 1, (w) => w.string(`/exports/sessions/${sid}`));
  if (mnt.u32() !== 0) throw new Error('MNT failed');
  const rootFh = mnt.opaque(64);
  const ok = (r, what) => {
    const s = r.u32();
    if (s !== 0) throw new Error(`${what}: nfsstat3 ${s}`);
    return r;
  };
  // sattr3 (RFC 1813 2.5.3): mode, uid, gid, size, atime, mtime
  const sattr = (w, { mode, uid, times } = {}) => {
    if (mode === undefined) w.u32(0);
    else w.u32(1).u32(mode);
    if (uid === undefined) w.u32(0);
    else w.u32(1).u32(uid);
    w.u32(0).u32(0);
    w.u32(times ? 1 : 0).u32(times ? 1 : 0); // SET_TO_SERVER_TIME
  };
  const mkdir = await call(NFS, 9, (w) => {
    w.opaque(rootFh).string('d');
    sattr(w, { mode: 0o777 });
  });
  ok(mkdir, 'MKDIR');
  mkdir.u32();
  const dir = mkdir.opaque(64);

  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  // a 256 KiB file of the session for READ and WRITE of 4 KiB (as nfs-bench's randread / randwrite rows)
  const made = ok(
    await call(NFS, 8, (w) => {
      w.opaque(dir).string('data').u32(1);
      sattr(w, { mode: 0o644 });
    }),
    'CREATE data',
  );
  made.u32();
  const dataFh = made.opaque(64);
  const block = Buffer.alloc(4096, 7);
  const writeAt = (off, stable) => call(NFS, 7, (w) => w.opaque(dataFh).u64(BigInt(off)).u32(4096).u32(stable).opaque(block));
  for (let off = 0; off < 256 * 1024; off += 4096) ok(await writeAt(off, 2), 'WRITE FILE_SYNC');
  const rows = {
    null: Infinity,
    getattr: Infinity,
    lookup: Infinity,
    create: Infinity,
    remove: Infinity,
    read_4k: Infinity,
    write_4k: Infinity,
  };
  const setattrRows = {
    setattr_mode_changed: Infinity,
    setattr_mode_same: Infinity,
    setattr_times: Infinity,
    setattr_owner_same: Infinity,
  };
  const fhs = new Array(N);
  // young-generation collections (BENCH_CALL_GC=1), counted per row over the measured rounds
  let minorGcs = 0;
  const gcRows = {};
  if (process.env.BENCH_CALL_GC === '1')
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
    }).observe({ entryTypes: ['gc'] });
  const settle = () => new Promise((r) => setTimeout(r, 5)); // gc entries are delivered on a later turn
  const measure = async (row, table, body) => {
    await settle();
    const gc0 = minorGcs;
    let used = 0;
    if (!GAP) {
      const t = cpu();
      for (let i = 0; i < N; i++) await body(i);
      used = cpu() - t;
    } else
      for (let i = 0; i < N; i++) {
        // only the call is counted, not the wait before the next
        if (GAP === 'sleep') await new Promise((r) => setTimeout(r, 0));
        else for (const t = performance.now(); performance.now() - t < 1;);
        const t = cpu();
        await body(i);
        used += cpu() - t;
      }
    table[row] = Math.min(table[row], used / N);
    await settle();
    if (table === rows || table === setattrRows) gcRows[row] = (gcRows[row] ?? 0) + minorGcs - gc0;
  };
  for (let round = 0; round < 8; round++) {
    const name = (i) => `r${round}-f${String(i).padStart(7, '0')}`;
    const t = round === 0 ? {} : rows;
    const s = round === 0 ? {} : setattrRows;
    await measure('null', t, () => call(NFS, 0));
    await measure('create', t, async (i) => {
      const r = ok(
        await call(NFS, 8, (w) => {
          w.opaque(dir).string(name(i)).u32(1); // GUARDED
          sattr(w, { mode: 0o644 });
        }),
        'CREATE',
      );
      r.u32();
      fhs[i] = r.opaque(64);
    });
    await measure('lookup', t, async (i) => ok(await call(NFS, 3, (w) => w.opaque(dir).string(name(i))), 'LOOKUP'));
    await measure('getattr', t, async (i) => ok(await call(NFS, 1, (w) => w.opaque(fhs[i])), 'GETATTR'));
    const setattr = (i, a) =>
      call(NFS, 2, (w) => {
        w.opaque(fhs[i]);
        sattr(w, a);
        w.u32(0); // no guard
      }).then((r) => ok(r, 'SETATTR'));
    await measure('setattr_mode_changed', s, (i) => setattr(i, { mode: 0o600 }));
    await measure('setattr_mode_same', s, (i) => setattr(i, { mode: 0o600 }));
    await measure('setattr_times', s, (i) => setattr(i, { times: true }));
    await measure('setattr_owner_same', s, (i) => setattr(i, { uid: 0 }));
    await measure('remove', t, async (i) => ok(await call(NFS, 12, (w) => w.opaque(dir).string(name(i))), 'REMOVE'));
    const at = (i) => ((i * 7919) % 64) * 4096;
    await measure('read_4k', t, async (i) =>
      ok(
        await call(NFS, 6, (w) =>
          w
            .opaque(dataFh)
            .u64(BigInt(at(i)))
            .u32(4096),
        ),
        'READ',
      ),
    );
    await measure('write_4k', t, async (i) => ok(await writeAt(at(i), 0), 'WRITE UNSTABLE'));
  }
  exports.closeAll();
  const us = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`${k}_cpu_us`, +v.toFixed(1)]));
  const gcs =
    process.env.BENCH_CALL_GC === '1'
      ? Object.fromEntries(Object.entries(gcRows).map(([k, v]) => [`${k}_scavenges_per_1k`, +((v * 1000) / (7 * N)).toFixed(2)]))
      : {};
  console.log(JSON.stringify({ build: root, calls: N, ...us(rows), ...us(setattrRows), ...gcs }));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
