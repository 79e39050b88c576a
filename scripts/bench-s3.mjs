#!/usr/bin/env node
// S3 benchmarks (not tests), against a real radosgw started here (scripts/s3-start.sh) and stopped at the end.
// Prints one JSON object on stdout; progress on stderr. Requires `npm run build`.
//
//   node scripts/bench-s3.mjs [--read-mib 256] [--rounds 5] [--tree-mb 500] [--sessions 20] [--skip read|bucket]
//
// 1. Cold read: a file of --read-mib random MiB sits in a head stored in S3. A fresh daemon (empty RAM and
//    disk cache) serves a session; libnfs's nfs-cat reads the file to /dev/null. Compared with a direct
//    SDK GET of one object holding the same bytes (streamed and discarded). Target >= 0.8. Medians of --rounds
//    rounds, each measuring all four reads in turn.
// 2. Warm read: the daemon restarted on the same data directory (RAM empty, disk cache full) reads it
//    again; compared with a daemon on the local backend reading the same file (RAM empty). Target >= 0.9.
// 3. Bucket size: a --tree-mb tree, then --sessions sessions each changing 1% of the files and landed.
//    Compared with the tree's bytes plus every changed file's bytes, each zstd-compressed. Target <= 1.1.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const REPO = resolve(import.meta.dirname, '..');
const dist = new URL('../dist/src/', import.meta.url);
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const READ_MIB = Number(arg('--read-mib', '256'));
const TREE_MB = Number(arg('--tree-mb', '500'));
const SESSIONS = Number(arg('--sessions', '20'));
const ROUNDS = Number(arg('--rounds', '5'));
// extra node flags for the daemons, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const skip = new Set((arg('--skip', '') || '').split(',').filter(Boolean));
const log = (...m) => process.stderr.write(`bench-s3: ${m.join(' ')}\n`);
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'mic-bench-s3-'));
const s3Base = join(root, 's3');
const OUT_DIR = mkdtempSync('/dev/shm/mic-bench-s3-out-');
const started = [];
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function sh(cmd, argv, env = {}, opts = {}) {
  const r = spawnSync(cmd, argv, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** CPU seconds (user + system, all threads) of a process so far, from /proc/<pid>/stat. */
/** Minor page faults of a process so far (fresh memory touched: ~256 per MiB of new buffers). */
function procFaults(pid) {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[7]);
}
function procCpu(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
/** CPU seconds per thread of a process so far, by name: main, mic-s3-fetch (the S3 fetch worker, which names
 *  itself), node (the libuv thread pool and V8's helper threads, which Node names alike). */
function threadCpu(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = Number(tid) === pid ? 'main' : st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(') ') + 2).split(' ');
      out[comm] = (out[comm] ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {
      /* the thread ended */
    }
  }
  return out;
}
const rgwPid = () => Number(readFileSync(join(s3Base, 'run', 'client.rgw.a.pid'), 'utf8'));

/** A single-node radosgw on free ports; returns the client environment. */
function startS3() {
  // above the tests' slots (test/s3/cluster.ts: 22000 + 200 * slot, 40 slots), so a benchmark never takes
  // the ports of a test's radosgw
  const port = 30200 + Math.floor(Math.random() * 40) * 20;
  const out = sh('bash', [join(REPO, 'scripts/s3-start.sh'), s3Base], {
    MON_PORT: String(port),
    RGW_PORT: String(port + 1),
    MS_PORT_MIN: String(port + 2),
    MS_PORT_MAX: String(port + 19),
    MEMSTORE_BYTES: String(4 * 1024 ** 3),
    S3_BUCKET: 'bench',
  });
  const env = {};
  for (const line of out.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function stopS3() {
  spawnSync('bash', [join(REPO, 'scripts/s3-stop.sh'), s3Base], { stdio: 'ignore' });
}

const s3client = (S3Client, e) =>
  new S3Client({
    endpoint: e.AWS_ENDPOINT_URL,
    forcePathStyle: true,
    region: e.AWS_REGION,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY },
  });

const mic = (env, ...a) => sh('node', [join(REPO, 'dist/src/cli/main.js'), ...a], env);

/** Starts `mic serve`; resolves with its NFS port and a stop function. */
async function serve(env, dataDir) {
  const p = spawn(
    'node',
    [
      ...NODE_ARGS,
      join(REPO, 'dist/src/cli/main.js'),
      'serve',
      '--data-dir',
      dataDir,
      '--bind',
      '127.0.0.1',
      '--port',
      '0',
      '--api-port',
      'off',
    ],
    { env: { ...process.env, ...env, MIC_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  started.push(p);
  let buf = '';
  const port = await new Promise((res, rej) => {
    p.stdout.on('data', (d) => {
      buf += d;
      const m = /"msg":"listening"[^\n]*?"port":(\d+)|"port":(\d+)[^\n]*"msg":"listening"/.exec(buf);
      if (m) res(Number(m[1] ?? m[2]));
    });
    p.on('exit', (code) => rej(new Error(`mic serve exited (${code}): ${buf.slice(-2000)}`)));
  });
  p.stdout.resume();
  /** CPU seconds (user + system, all threads) the daemon has used so far, from /proc. */
  const cpu = () => procCpu(p.pid);
  const stop = () =>
    new Promise((res) => {
      if (p.exitCode !== null) return res();
      p.once('exit', () => res());
      p.kill('SIGTERM');
    });
  return { port, stop, cpu, pid: p.pid };
}

/** nfs-cat of one file to /dev/null; returns MB/s (10^6 bytes). */
function nfsCatMBps(port, sid, name, bytes, d) {
  const c0 = d.cpu();
  const f0 = procFaults(d.pid);
  const t0s = threadCpu(d.pid);
  const url = `nfs://127.0.0.1/exports/sessions/${sid}/${name}?version=3&nfsport=${port}&mountport=${port}`;
  const out = join(OUT_DIR, 'read.bin');
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', 'nfs-cat "$1" > "$2"', '_', url, out], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const s = (performance.now() - t0) / 1000;
  const cpuS = d.cpu() - c0;
  const t1s = threadCpu(d.pid);
  const MiB = bytes / 1048576;
  const faultsPerMiB = Math.round((procFaults(d.pid) - f0) / MiB);
  const threads = Object.fromEntries(
    Object.entries(t1s)
      .map(([k, v]) => [k, round(((v - (t0s[k] ?? 0)) * 1000) / MiB, 2)])
      .filter(([, v]) => v > 0),
  );
  if (r.status !== 0) throw new Error(`nfs-cat failed: ${r.stderr}`);
  const sha256 = createHash('sha256').update(readFileSync(out)).digest('hex'); // checked outside the timing
  rmSync(out, { force: true });
  return { mbps: bytes / 1e6 / s, sha256, cpuMsPerMiB: (cpuS * 1000) / MiB, threads, faultsPerMiB };
}

function startSessionId(env, dataDir, project) {
  const out = mic(env, 'session', 'start', '--project', project, '--goal', 'bench', '--json', '--data-dir', dataDir);
  return JSON.parse(out).session.session_id;
}

async function readBench(s3env) {
  const { S3Client, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const bytes = READ_MIB * 1024 * 1024;
  const content = randomBytes(bytes);
  const sha = createHash('sha256').update(content).digest('hex');
  const src = join(root, 'read-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'big.bin'), content);

  // the direct SDK GET, mic-fs cold and warm, and the local backend, measured in turns (ROUNDS rounds),
  // so that a machine that speeds up or slows down during the run weighs on all of them alike
  const client = s3client(S3Client, s3env);
  await client.send(new PutObjectCommand({ Bucket: s3env.MIC_S3_BUCKET, Key: 'bench-raw/big.bin', Body: content }));
  const env = { ...s3env, MIC_S3_PREFIX: 'read/' };
  const importDir = join(root, 'import');
  mic(env, 'project', 'init', 'bench/read', '--from', src, '--data-dir', importDir);
  const localDir = join(root, 'local');
  mic({}, 'project', 'init', 'bench/read', '--from', src, '--data-dir', localDir);
  const localSid = startSessionId({}, localDir, 'bench/read');
  const sdk = [],
    cold = [],
    warm = [],
    local = [];
  const cpu = { sdk: [], cold: [], warm: [], local: [], rgw_sdk: [], rgw_cold: [] };
  const threadsCold = {};
  const threadsWarm = {};
  const rgw = rgwPid();
  for (let k = 0; k < ROUNDS; k++) {
    const sc0 = process.cpuUsage();
    const r0 = procCpu(rgw);
    const t0 = performance.now();
    const got = await client.send(new GetObjectCommand({ Bucket: s3env.MIC_S3_BUCKET, Key: 'bench-raw/big.bin' }));
    let n = 0;
    for await (const chunk of got.Body) n += chunk.length;
    if (n !== bytes) throw new Error('short SDK GET');
    sdk.push(bytes / 1e6 / ((performance.now() - t0) / 1000));
    const sc = process.cpuUsage(sc0);
    cpu.sdk.push((sc.user + sc.system) / 1000 / (bytes / 1048576));
    cpu.rgw_sdk.push(((procCpu(rgw) - r0) * 1000) / (bytes / 1048576));

    const dataDir = join(root, `cold-${k}`);
    const sid = startSessionId(env, dataDir, 'bench/read');
    let d = await serve(env, dataDir);
    const r1 = procCpu(rgw);
    const c = nfsCatMBps(d.port, sid, 'big.bin', bytes, d);
    cpu.rgw_cold.push(((procCpu(rgw) - r1) * 1000) / (bytes / 1048576));
    if (c.sha256 !== sha) throw new Error('cold read returned other bytes');
    cold.push(c.mbps);
    cpu.cold.push(c.cpuMsPerMiB);
    log(`cold read, daemon CPU ms/MiB by thread: ${JSON.stringify(c.threads)}, page faults per MiB ${c.faultsPerMiB}`);
    for (const [t, v] of Object.entries(c.threads)) (threadsCold[t] ??= []).push(v);
    await d.stop();
    d = await serve(env, dataDir); // RAM empty, disk cache warm
    const w = nfsCatMBps(d.port, sid, 'big.bin', bytes, d);
    if (w.sha256 !== sha) throw new Error('warm read returned other bytes');
    warm.push(w.mbps);
    cpu.warm.push(w.cpuMsPerMiB);
    log(`warm read, daemon CPU ms/MiB by thread: ${JSON.stringify(w.threads)}, page faults per MiB ${w.faultsPerMiB}`);
    for (const [t, v] of Object.entries(w.threads)) (threadsWarm[t] ??= []).push(v);
    await d.stop();
    rmSync(dataDir, { recursive: true, force: true });

    d = await serve({}, localDir); // the local backend, same file, RAM empty
    const l = nfsCatMBps(d.port, localSid, 'big.bin', bytes, d);
    if (l.sha256 !== sha) throw new Error('local read returned other bytes');
    local.push(l.mbps);
    cpu.local.push(l.cpuMsPerMiB);
    await d.stop();
    log(
      `round ${k + 1}/${ROUNDS}: sdk ${round(sdk[k], 1)} cold ${round(c.mbps, 1)} warm ${round(w.mbps, 1)} local ${round(l.mbps, 1)} MB/s`,
    );
  }
  client.destroy();
  rmSync(src, { recursive: true, force: true });
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    file_mib: READ_MIB,
    client: 'nfs-cat (libnfs-utils) to a file on /dev/shm, bytes checked by SHA-256 afterwards',
    sdk_get_MBps: round(med(sdk), 1),
    cold_read_MBps: round(med(cold), 1),
    cold_vs_sdk_get: round(med(cold) / med(sdk)),
    local_read_MBps: round(med(local), 1),
    warm_read_MBps: round(med(warm), 1),
    warm_vs_local: round(med(warm) / med(local)),
    // CPU ms per MiB read: the daemon's (all threads, /proc), the benchmark process's for the SDK GET, and
    // radosgw's during the SDK GET and during the cold read
    cpu_ms_per_mib: Object.fromEntries(Object.entries(cpu).map(([k, xs]) => [k, round(med(xs), 2)])),
    // the daemon's CPU by thread (main; mic-s3-fetch, the fetch worker; node, the thread pool and V8's helpers)
    cold_cpu_ms_per_mib_by_thread: Object.fromEntries(Object.entries(threadsCold).map(([k, xs]) => [k, round(med(xs), 2)])),
    warm_cpu_ms_per_mib_by_thread: Object.fromEntries(Object.entries(threadsWarm).map(([k, xs]) => [k, round(med(xs), 2)])),
    samples: {
      sdk: sdk.map((x) => round(x, 1)),
      cold: cold.map((x) => round(x, 1)),
      warm: warm.map((x) => round(x, 1)),
      local: local.map((x) => round(x, 1)),
    },
  };
}

/** Text-like content: compressible about 2-3x, different for every seed. */
function fileContent(seed, size) {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'session', 'landing', 'tree', 'blob', 'export', 'mount', 'commit', 'merge'];
  const rnd = randomBytes(size);
  const parts = [`seed ${seed}\n`];
  let n = parts[0].length;
  for (let i = 0; n < size; i++) {
    const w = i % 7 === 0 ? rnd.toString('hex', i % (size - 8), (i % (size - 8)) + 6) : words[rnd[i % size] % words.length];
    parts.push(w, i % 12 === 11 ? '\n' : ' ');
    n += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

async function bucketBench(s3env) {
  const { S3Client, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const { compress } = await import('zstd-napi');
  const { openCatalog } = await import(new URL('daemon/data-dir.js', dist));
  const { importTree, initProject } = await import(new URL('session/project.js', dist));
  const { startSession } = await import(new URL('session/start.js', dist));
  const { DirectHost } = await import(new URL('session/host.js', dist));
  const { landSession } = await import(new URL('session/land.js', dist));
  const { applyFiles } = await import(new URL('session/apply.js', dist));
  const { files: parseFiles } = await import(new URL('session/input.js', dist));

  const FILE = 100 * 1024;
  const nfiles = Math.round((TREE_MB * 1e6) / FILE);
  const PER_DIR = 100;
  const src = join(root, 'tree-src');
  let baseline = 0;
  let treeBytes = 0;
  log(`tree of ${nfiles} files of ${FILE} bytes...`);
  for (let i = 0; i < nfiles; i++) {
    const dir = join(src, `d${String(Math.floor(i / PER_DIR)).padStart(3, '0')}`);
    if (i % PER_DIR === 0) mkdirSync(dir, { recursive: true });
    const c = fileContent(i, FILE);
    writeFileSync(join(dir, `f${i % PER_DIR}.txt`), c);
    baseline += compress(c, { compressionLevel: 3 }).length;
    treeBytes += c.length;
  }
  const env = { ...s3env, MIC_S3_PREFIX: 'bucket/' };
  // in this process the SDK's credential chain reads process.env
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: s3env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: s3env.AWS_SECRET_ACCESS_KEY });
  const dataDir = join(root, 'bucket-data');
  const catalog = openCatalog(dataDir, { env: { ...process.env, ...env } });
  const store = catalog.store('bench/bucket');
  const t0 = performance.now();
  const { tree, nextIno } = await importTree(store, src);
  await initProject(store, tree, nextIno, 'bench tree');
  const importS = (performance.now() - t0) / 1000;
  rmSync(src, { recursive: true, force: true });
  log(`imported ${TREE_MB} MB in ${round(importS, 1)} s; ${SESSIONS} sessions...`);

  const host = new DirectHost(catalog, dataDir, randomBytes(32));
  const ctx = { catalog, host, dataDir };
  const perSession = Math.max(1, Math.round(nfiles / 100));
  let changedBytes = 0;
  for (let s = 0; s < SESSIONS; s++) {
    const r = await startSession(catalog, { project: 'bench/bucket', goal: `bench ${s}` });
    const changes = [];
    for (let j = 0; j < perSession; j++) {
      const i = (s * 7919 + j * 104729) % nfiles;
      const c = fileContent(1_000_000 + s * perSession + j, FILE);
      baseline += compress(c, { compressionLevel: 3 }).length;
      changedBytes += c.length;
      changes.push({
        path: `d${String(Math.floor(i / PER_DIR)).padStart(3, '0')}/f${i % PER_DIR}.txt`,
        change_type: 'modified',
        content: c.toString('base64'),
        encoding: 'base64',
      });
    }
    await applyFiles(await host.open(r), r.owner, parseFiles(changes));
    const out = await landSession(ctx, r, `bench ${s}`);
    if (!out.ok) throw new Error('unexpected conflict');
  }
  await host.closeAll();
  const drain = catalog.backend.drain?.bind(catalog.backend);
  if (drain) await drain();

  const client = s3client(S3Client, s3env);
  let bucketBytes = 0,
    objects = 0,
    token;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3env.MIC_S3_BUCKET, Prefix: 'bucket/', ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      bucketBytes += o.Size ?? 0;
      objects++;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  client.destroy();
  return {
    tree_mb: round(treeBytes / 1e6, 1),
    files: nfiles,
    sessions: SESSIONS,
    files_changed_per_session: perSession,
    changed_mb: round(changedBytes / 1e6, 1),
    baseline_compressed_mb: round(baseline / 1e6, 1),
    bucket_mb: round(bucketBytes / 1e6, 1),
    objects,
    bucket_vs_baseline: round(bucketBytes / baseline),
    import_s: round(importS, 1),
  };
}

const result = { store: 'radosgw (Ceph, memstore) on 127.0.0.1' };
let failed = false;
try {
  log('starting radosgw...');
  const s3env = startS3();
  if (!skip.has('read')) {
    log(`read benchmark (${READ_MIB} MiB)...`);
    result.read = await readBench(s3env);
    log(JSON.stringify(result.read));
  }
  if (!skip.has('bucket')) {
    log(`bucket size benchmark (${TREE_MB} MB tree, ${SESSIONS} sessions)...`);
    result.bucket = await bucketBench(s3env);
    log(JSON.stringify(result.bucket));
  }
} catch (e) {
  failed = true;
  result.error = String(e?.stack ?? e);
} finally {
  for (const p of started) if (p.exitCode === null) p.kill('SIGKILL');
  stopS3();
  rmSync(root, { recursive: true, force: true });
  rmSync(OUT_DIR, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
process.exit(failed ? 1 : 0);
