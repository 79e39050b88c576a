// A real radosgw for a test file: scripts/s3-start.sh in beforeAll, scripts/s3-stop.sh in afterAll.
// Each file gets its own cluster on its own ports (a slot claimed by mkdir), so files can run in parallel.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SLOTS = 40; // ports 22000 + 200*slot ...

export interface S3Env {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  bucket: string;
  base: string;
  /** Stops only the radosgw process (mon and memstore OSD keep the data): the endpoint refuses connections. */
  stopGateway(): Promise<void>;
  /** Starts radosgw again on the same port and cluster; resolves once it answers HTTP. */
  startGateway(): Promise<void>;
  /** Freezes radosgw (SIGSTOP to its PID): connections are accepted, nothing is answered: a hung S3. */
  pauseGateway(): Promise<void>;
  /** Lets a paused radosgw run again (SIGCONT). */
  resumeGateway(): Promise<void>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    const t = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code: code ?? -1, out, err });
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Claims a free port slot: a lock directory owned by this process. */
async function claimSlot(): Promise<{ slot: number; lock: string }> {
  const start = Math.floor(Math.random() * SLOTS);
  for (let i = 0; i < SLOTS; i++) {
    const slot = (start + i) % SLOTS;
    const lock = join(tmpdir(), `mic-s3-test-slot-${slot}`);
    try {
      await mkdir(lock);
    } catch {
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (owner && alive(owner)) continue;
      await rm(lock, { recursive: true, force: true }); // left by a run that died
      try {
        await mkdir(lock);
      } catch {
        continue;
      }
    }
    await writeFile(join(lock, 'pid'), String(process.pid));
    const port = 22000 + 200 * slot;
    if ((await portFree(port + 10)) && (await portFree(port + 20))) return { slot, lock };
    await rm(lock, { recursive: true, force: true });
  }
  throw new Error('no free port slot for a test radosgw');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The radosgw PID from BASE/run, if that process is still this cluster's radosgw. */
async function gatewayPid(base: string): Promise<number | null> {
  const pid = Number(await readFile(join(base, 'run', 'client.rgw.a.pid'), 'utf8').catch(() => '0'));
  if (!pid || !alive(pid)) return null;
  const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmd.includes(join(base, 'ceph.conf')) ? pid : null;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint + '/', { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

async function stopGateway(base: string, endpoint: string): Promise<void> {
  const pid = await gatewayPid(base);
  if (!pid) throw new Error(`radosgw of ${base} is not running`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  if (await answers(endpoint)) throw new Error(`${endpoint} still answers after radosgw ${pid} stopped`);
}

async function startGateway(base: string, endpoint: string): Promise<void> {
  if (await gatewayPid(base)) throw new Error(`radosgw of ${base} is already running`);
  // radosgw daemonizes and writes BASE/run/client.rgw.a.pid, as in scripts/s3-start.sh
  const r = await run('radosgw', ['-c', join(base, 'ceph.conf'), '-n', 'client.rgw.a'], {}, 60_000);
  if (r.code !== 0) throw new Error(`radosgw failed to start (${r.code}): ${r.err.slice(-2000)}`);
  for (let i = 0; i < 300; i++) {
    if (await answers(endpoint)) return;
    await sleep(200);
  }
  throw new Error(`radosgw did not answer on ${endpoint} after a restart`);
}

async function signalGateway(base: string, signal: NodeJS.Signals): Promise<void> {
  const pid = await gatewayPid(base);
  if (!pid) throw new Error(`radosgw of ${base} is not running`);
  process.kill(pid, signal);
}

/** Starts a cluster; resolves with its endpoint and a stop function. */
export async function startCluster(): Promise<S3Env & { stop: () => Promise<void> }> {
  const { slot, lock } = await claimSlot();
  const port = 22000 + 200 * slot;
  const base = join(tmpdir(), `mic-s3-test-${slot}`);
  const env = {
    MON_PORT: String(port + 10),
    RGW_PORT: String(port + 20),
    MS_PORT_MIN: String(port + 100),
    MS_PORT_MAX: String(port + 199),
    MEMSTORE_BYTES: String(1024 ** 3),
  };
  const stop = async () => {
    await signalGateway(base, 'SIGCONT').catch(() => {}); // never leave it frozen
    await run('bash', [join(ROOT, 'scripts/s3-stop.sh'), base], {}, 60_000);
    await rm(lock, { recursive: true, force: true });
  };
  const r = await run('bash', [join(ROOT, 'scripts/s3-start.sh'), base], env, 540_000);
  if (r.code !== 0) {
    await stop();
    throw new Error(`scripts/s3-start.sh failed (${r.code}):\n${r.err.slice(-3000)}`);
  }
  const vars = Object.fromEntries(
    r.out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const endpoint = vars.AWS_ENDPOINT_URL!;
  return {
    endpoint,
    stopGateway: () => stopGateway(base, endpoint),
    startGateway: () => startGateway(base, endpoint),
    pauseGateway: () => signalGateway(base, 'SIGSTOP'),
    resumeGateway: () => signalGateway(base, 'SIGCONT'),
    accessKeyId: vars.AWS_ACCESS_KEY_ID!,
    secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!,
    region: vars.AWS_REGION ?? 'us-east-1',
    bucket: vars.MIC_S3_BUCKET!,
    base,
    stop,
  };
}

/** Registers beforeAll/afterAll for one cluster per test file; call the result inside tests. */
export function useCluster(): () => S3Env {
  let cluster: (S3Env & { stop: () => Promise<void> }) | null = null;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 600_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);
  return () => {
    if (!cluster) throw new Error('radosgw not started');
    return cluster;
  };
}
