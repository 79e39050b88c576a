#!/usr/bin/env node
// Scale benchmarks (not tests): costs that must not grow with what an operation does not touch (issue 10,
// "Scale"). Prints one JSON object on stdout; progress on stderr. Requires `npm run build`.
//
//   node scripts/bench-scale.mjs [--only landing,landing-s3,sessions,rss,history] [--profile DIR]
//        [--head-files 100000] [--sessions 10000] [--idle 10,100,1000] [--heads 100000]
//
// The large states (a 100k-file head, 10k session records, 100k heads) are generated directly through the
// store API; the timed part always goes through what users call, against a daemon running in this process:
//   landing   POST /api/sessions/<id>/land of 10 and of 1,000 changed files (in 10 / 100 directories) into a
//             head of --head-files files; the local store with its default durability (fsync).
//   landing-s3  the same against a radosgw started here (scripts/s3-start.sh): the daemon on S3, as `mic serve`.
//   sessions  with --sessions sessions in a project (all but a few landed): MOUNT EXPORT over ONC RPC,
//             GET /api/sessions?status=active, MNT of a newly started session, and the daemon's start-up
//             time with 100 sessions and with --sessions sessions.
//   rss       the daemon's RSS (after a full GC) with 10, 100, 1,000 live idle sessions, each started and
//             mounted; per session above the base. Runs in a child node with --expose-gc.
//   history   GET /api/projects/<p>/log (the last 50 heads, what `mic log` shows) and /blame (`mic blame`) of a
//             file changed by the last head and of one unchanged since the first, with --heads heads (each
//             given its blame index as landing does: src/session/blame-index.ts).
// --profile DIR writes a V8 CPU profile of each timed section (DIR/<part>-<section>.cpuprofile).
// Medians of the samples; each part reports its samples too. Data under BENCH_DIR (default: the OS tmpdir).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const dist = new URL('../dist/', import.meta.url);
const { startDaemon } = await import(new URL('src/daemon/daemon.js', dist));
const { openCatalog } = await import(new URL('src/daemon/data-dir.js', dist));
const { initProject } = await import(new URL('src/session/project.js', dist));
const { Catalog } = await import(new URL('src/session/catalog.js', dist));
const { indexHead } = await import(new URL('src/session/blame-index.js', dist));
const { LocalBackend } = await import(new URL('src/store/index.js', dist));
const { MicClient } = await import(new URL('src/api/client.js', dist));
const { RpcClient } = await import(new URL('rpc/client.js', dist));
const { XdrWriter } = await import(new URL('rpc/xdr.js', dist));

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const only = new Set(arg('--only', 'landing,landing-s3,sessions,rss,history').split(','));
const PROFILE = arg('--profile', null);
const HEAD_FILES = Number(arg('--head-files', '100000'));
const SESSIONS = Number(arg('--sessions', '10000'));
const IDLE = arg('--idle', '10,100,1000').split(',').map(Number);
const HEADS = Number(arg('--heads', '100000'));
const log = (...m) => process.stderr.write(`bench-scale: ${m.join(' ')}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const silent = pino({ level: 'silent' });
const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'mic-bench-scale-'));
if (PROFILE) mkdirSync(PROFILE, { recursive: true });

/** Runs fn n times, profiling the timed calls when --profile is given; returns the samples in ms. */
async function timed(name, n, prepare, fn) {
  const prof = PROFILE ? new Session() : null;
  if (prof) {
    prof.connect();
    await prof.post('Profiler.enable');
    await prof.post('Profiler.setSamplingInterval', { interval: 100 });
  }
  const samples = [];
  const cpu = [];
  for (let k = 0; k < n; k++) {
    const ctx = prepare ? await prepare(k) : undefined;
    if (prof) await prof.post('Profiler.start');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(ctx, k);
    samples.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (prof) {
      const { profile } = await prof.post('Profiler.stop');
      if (k === n - 1 || k === Math.floor(n / 2)) writeFileSync(join(PROFILE, `${name}.cpuprofile`), JSON.stringify(profile));
    }
  }
  prof?.disconnect();
  samples.cpu = cpu;
  return samples;
}
/** Wall-clock median and samples, and the median CPU time of this process (daemon and client) per call:
 *  on a busy machine the steadier measure of the work itself. */
const stats = (samples) => ({
  median_ms: round(median(samples)),
  cpu_median_ms: round(median(samples.cpu)),
  samples_ms: samples.map((x) => round(x)),
});

async function daemon(dataDir) {
  const d = await startDaemon({ dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log: silent, apiPort: 0 });
  const url = `http://127.0.0.1:${d.apiPort}`;
  const rpc = await RpcClient.connect('127.0.0.1', d.port, { timeoutMs: 60_000 });
  const mount = (proc, w = new XdrWriter()) => rpc.call(100005, 3, proc, w);
  return {
    d,
    url,
    api: new MicClient({ baseUrl: url }),
    exportList: async () => {
      const r = await mount(5);
      let n = 0;
      while (r.bool()) {
        r.string(1024);
        n++;
        while (r.bool()) r.string(255);
      }
      return n;
    },
    mnt: async (path) => {
      const r = await mount(1, new XdrWriter().string(path));
      const st = r.u32();
      if (st !== 0) throw new Error(`MNT ${path}: status ${st}`);
    },
    close: async () => {
      await rpc.close();
      await d.close();
    },
  };
}

const PER_DIR = 1000;
const fileName = (i) => `f${String(i % PER_DIR).padStart(4, '0')}.txt`;
const dirName = (d) => `d${String(d).padStart(4, '0')}`;

/** A head of n files in directories of 1000, written straight into the store. */
async function makeHead(store, n) {
  const blobs = [];
  for (let k = 0; k < 256; k++) blobs.push(await store.putBlob(Buffer.from(`content ${k}\n${'x'.repeat(k)}\n`)));
  let ino = 2;
  const dirs = [];
  for (let d = 0; d < Math.ceil(n / PER_DIR); d++) {
    const dirIno = ino++;
    const entries = [];
    for (let i = d * PER_DIR; i < Math.min(n, (d + 1) * PER_DIR); i++) {
      const k = i % 256;
      entries.push({ name: fileName(i), kind: 'file', mode: 0o644, ino: ino++, size: 10 + k, mtime: [1700000000, 0], hash: blobs[k] });
    }
    dirs.push({
      name: dirName(d),
      kind: 'dir',
      mode: 0o755,
      ino: dirIno,
      size: 0,
      mtime: [1700000000, 0],
      hash: await store.writeDir(entries),
      dirs: 0,
    });
  }
  return initProject(store, await store.writeDir(dirs), ino, `head of ${n} files`);
}

// ------------------------------------------------------------------------------------------------ landing

async function landing(name = 'landing', storeName = 'local (fsync on)') {
  const dataDir = join(root, name);
  log(`${name}: a head of ${HEAD_FILES} files...`);
  const cat = openCatalog(dataDir);
  await makeHead(cat.store('bench/land'), HEAD_FILES);
  await cat.backend.close?.(60_000); // S3: its uploads finished before the daemon opens the data dir
  const t = await daemon(dataDir);
  const ndirs = Math.ceil(HEAD_FILES / PER_DIR);
  let round0 = 0;
  const changes = (files, dirs) => {
    const r = ++round0;
    return Array.from({ length: files }, (_, j) => {
      const d = (j % dirs) % ndirs;
      const i = d * PER_DIR + ((Math.floor(j / dirs) * 7 + r * 13) % PER_DIR);
      return { path: `${dirName(d)}/${fileName(i)}`, change_type: 'modified', content: `changed in round ${r}, file ${j}\n` };
    });
  };
  const session = async (files, dirs) => {
    const s = (await t.api.start({ goal: 'land', project: 'bench/land' })).session.session_id;
    await t.api.files(s, { files: changes(files, dirs) });
    return s;
  };
  const out = { head_files: HEAD_FILES, store: storeName };
  try {
    for (const [files, dirs, n] of [
      [10, 10, 15],
      [1000, 100, 5],
    ]) {
      log(`landing: ${files} files in ${dirs} directories (${n} samples)...`);
      await t.api.land(await session(files, dirs)); // warm-up
      const ms = await timed(
        `${name}-${files}`,
        n,
        () => session(files, dirs),
        (id) => t.api.land(id),
      );
      out[`land_${files}_files`] = stats(ms);
    }
    log('landing: 10 files after another session landed (three-way merge)...');
    const ms = await timed(
      `${name}-10-merged`,
      9,
      async () => {
        const [a, b] = [await session(10, 10), await session(10, 10)];
        await t.api.land(b);
        return a;
      },
      (id) => t.api.land(id),
    );
    out.land_10_files_after_another = stats(ms);
  } finally {
    await t.close();
  }
  return out;
}

/** landing against a radosgw started here (scripts/s3-start.sh), the daemon on S3 with its outbox and disk
 *  cache as `mic serve` runs it; ports above the tests' slots (test/s3/cluster.ts). */
async function landingS3() {
  const REPO = fileURLToPath(new URL('..', import.meta.url));
  const base = join(root, 's3');
  const port = 30200 + Math.floor(Math.random() * 40) * 20;
  const env = { MON_PORT: port, RGW_PORT: port + 1, MS_PORT_MIN: port + 2, MS_PORT_MAX: port + 19, MEMSTORE_BYTES: 2 * 1024 ** 3 };
  const r = spawnSync('bash', [join(REPO, 'scripts/s3-start.sh'), base], {
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`s3-start.sh failed: ${r.stderr}`);
  const saved = { ...process.env };
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
  process.env.MIC_S3_PREFIX = 'land/';
  try {
    return await landing('landing-s3', 'radosgw (Ceph memstore, 127.0.0.1; outbox and disk cache)');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    spawnSync('bash', [join(REPO, 'scripts/s3-stop.sh'), base], { stdio: 'ignore' });
  }
}

// ------------------------------------------------------------------------------------------------ sessions

/** Clones of a landed record, written with fsync off (generation only). */
async function addLandedSessions(dataDir, template, from, to) {
  const cat = new Catalog(new LocalBackend(join(dataDir, 'objects'), { fsync: false }));
  const batch = [];
  for (let i = from; i < to; i++) {
    const id = `bench-${String(i).padStart(6, '0')}`;
    const started = new Date(Date.parse(template.started_at) - (to - i) * 1000).toISOString();
    batch.push(cat.put({ ...template, session_id: id, goal: `landed ${i}`, started_at: started, timeline: template.timeline.slice(0, 4) }));
    if (batch.length >= 64) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

async function sessions() {
  const dataDir = join(root, 'sessions');
  await makeHead(openCatalog(dataDir).store('bench/many'), 100);
  let t = await daemon(dataDir);
  const s0 = (await t.api.start({ goal: 'template', project: 'bench/many' })).session.session_id;
  await t.api.files(s0, { files: [{ path: 'new.txt', change_type: 'added', content: 'x\n' }] });
  await t.api.land(s0);
  const template = openCatalog(dataDir).get(s0);
  const live = [];
  for (let i = 0; i < 20; i++) live.push((await t.api.start({ goal: `live ${i}`, project: 'bench/many' })).session.session_id);
  await t.close();
  const out = { sessions: SESSIONS, live: live.length + 1 };
  // wall and CPU (this process: the daemon's start-up is all in it) medians of 5 start-ups
  const startup = async () => {
    const ms = [];
    const cpu = [];
    for (let k = 0; k < 5; k++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const x = await daemon(dataDir);
      ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      await x.close();
    }
    return { median_ms: round(median(ms)), cpu_median_ms: round(median(cpu)), samples_ms: ms.map((x) => round(x)) };
  };
  log('sessions: start-up with 100 sessions...');
  await addLandedSessions(dataDir, await template, 0, 100 - live.length - 1);
  out.startup_100_sessions = await startup();
  log(`sessions: ${SESSIONS} sessions...`);
  await addLandedSessions(dataDir, await template, 100, SESSIONS);
  out[`startup_${SESSIONS}_sessions`] = await startup();
  t = await daemon(dataDir);
  try {
    out.mount_export = stats(await timed('sessions-export', 15, null, () => t.exportList()));
    const active = async () => {
      const r = await fetch(`${t.url}/api/sessions?status=active`);
      if (r.status !== 200) throw new Error(`GET /api/sessions: ${r.status}`);
      return r.json();
    };
    out.list_active = stats(await timed('sessions-list-active', 15, null, active));
    out.list_active.total = (await active()).total;
    out.list_first_page_all = stats(
      await timed('sessions-list-all', 3, null, () => fetch(`${t.url}/api/sessions?limit=50`).then((r) => r.json())),
    );
    out.new_mount = stats(
      await timed(
        'sessions-mount',
        15,
        async () => (await t.api.start({ goal: 'mount me', project: 'bench/many' })).session.export,
        (path) => t.mnt(path),
      ),
    );
  } finally {
    await t.close();
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ rss

async function rss() {
  // in a child with --expose-gc, so that the heap holds the daemon and nothing this process did before
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--rss-child', IDLE.join(',')], {
    env: { ...process.env, BENCH_DIR: root },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`rss child failed (${r.status})`);
  return JSON.parse(r.stdout);
}

async function rssChild(steps) {
  const dataDir = join(root, 'rss');
  await makeHead(openCatalog(dataDir).store('bench/idle'), 1000);
  const t = await daemon(dataDir);
  const measure = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((res) => setTimeout(res, 50));
    }
    return process.memoryUsage();
  };
  try {
    // one session started and landed first, so that the base includes the code paths every session uses
    const w = (await t.api.start({ goal: 'warm', project: 'bench/idle' })).session;
    await t.mnt(w.export);
    await t.api.land(w.session_id);
    const base = await measure();
    const curve = [];
    let n = 0;
    for (const target of steps) {
      log(`rss: ${target} live idle sessions...`);
      for (; n < target; n++) await t.mnt((await t.api.start({ goal: `idle ${n}`, project: 'bench/idle' })).session.export);
      const m = await measure();
      curve.push({
        sessions: n,
        rss_mb: round(m.rss / 2 ** 20),
        heap_used_mb: round(m.heapUsed / 2 ** 20),
        rss_kb_per_session: round((m.rss - base.rss) / 1024 / n, 1),
        heap_kb_per_session: round((m.heapUsed - base.heapUsed) / 1024 / n, 1),
      });
      log(JSON.stringify(curve.at(-1)));
    }
    return { base_rss_mb: round(base.rss / 2 ** 20), base_heap_used_mb: round(base.heapUsed / 2 ** 20), curve };
  } finally {
    await t.close();
  }
}

// ------------------------------------------------------------------------------------------------ history

async function history() {
  const dataDir = join(root, 'history');
  const project = 'bench/history';
  const store = new Catalog(new LocalBackend(join(dataDir, 'objects'), { fsync: false })).store(project);
  await makeHead(store, 2000);
  const h0 = await store.getHead();
  // 100 trees that differ in churn/x only; head i has tree i % 100: every head changes churn/x, none d0000/*
  log(`history: ${HEADS} heads...`);
  const root0 = await store.listDir(h0.record.tree);
  const trees = [];
  for (let k = 0; k < 100; k++) {
    const churn = await store.writeDir([
      {
        name: 'x',
        kind: 'file',
        mode: 0o644,
        ino: 900000,
        size: 8,
        mtime: [1700000000 + k, 0],
        hash: await store.putBlob(Buffer.from(`churn ${k}\n`)),
      },
    ]);
    trees.push(
      await store.writeDir([
        ...root0,
        { name: 'churn', kind: 'dir', mode: 0o755, ino: 900001, size: 0, mtime: [1700000000, 0], hash: churn, dirs: 0 },
      ]),
    );
  }
  let parent = h0.hash;
  let rec;
  for (let i = 1; i <= HEADS; i++) {
    rec = {
      tree: trees[i % 100],
      nextIno: h0.record.nextIno + 10,
      parent,
      session: null,
      message: `head ${i}`,
      time: new Date(1.7e12 + i * 1000).toISOString(),
    };
    parent = await store.putHeadRecord(rec);
    // what landing does once a head won its CAS: its blame index (the first call indexes h0 too)
    if (!(await indexHead(store, parent))) throw new Error('no blame index');
    if (i % 20000 === 0) log(`history: ${i} heads`);
  }
  const cur = await store.getHead();
  if (!(await store.casHead(cur.version, cur.ref.generation, rec))) throw new Error('cas lost');
  const t = await daemon(dataDir);
  const out = { heads: HEADS + 1 };
  try {
    out.log_50 = stats(await timed('history-log', 9, null, () => t.api.log(project, { limit: 50 })));
    out.blame_changed_by_last_head = stats(await timed('history-blame-recent', 9, null, () => t.api.blame(project, 'churn/x')));
    log('history: blame of a file unchanged since the first head...');
    out.blame_unchanged_since_first_head = stats(
      await timed('history-blame-old', 9, null, () => t.api.blame(project, `${dirName(0)}/${fileName(0)}`)),
    );
  } finally {
    await t.close();
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ main

try {
  if (args[0] === '--rss-child') {
    process.stdout.write(JSON.stringify(await rssChild(args[1].split(',').map(Number))) + '\n');
  } else {
    const result = {};
    for (const [name, fn] of Object.entries({ landing, 'landing-s3': landingS3, sessions, rss, history })) {
      if (!only.has(name)) continue;
      const t0 = performance.now();
      result[name] = await fn();
      result[name].bench_seconds = round((performance.now() - t0) / 1000, 1);
      log(`${name}: ${JSON.stringify(result[name])}`);
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  }
} finally {
  if (args[0] !== '--rss-child') rmSync(root, { recursive: true, force: true });
}
