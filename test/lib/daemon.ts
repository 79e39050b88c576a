// Start the real mic-fs daemon (the compiled CLI in dist/) for integration tests.
//
//   const d = await startDaemon();            // temp data dir, free port
//   await d.initProject('acme/app', { 'README.md': 'hi' });
//   const s = await d.startSession('acme/app', 'goal');   // s.export = /exports/sessions/<id>
//   ... nfs-kernel-client / libnfs against 127.0.0.1:d.port ...
//   await d.restart({ signal: 'SIGKILL' });    // same port, same data dir
//   await d.stop();
//
// `npm run build` must have run (scripts/test.sh does it before vitest).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from './kernel.js';
import { MicClient } from '../../src/api/client.js';

export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface MicResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface SessionInfo {
  session_id: string;
  export: string;
  goal: string;
  status: string;
  [k: string]: unknown;
}

export interface StartOptions {
  /** Data directory (default: a new temp dir under os.tmpdir(), removed by stop({ cleanup: true })). */
  dataDir?: string;
  /** Port (default 0: the daemon picks a free one). */
  port?: number;
  logLevel?: string;
  /** Extra environment for the daemon. */
  env?: Record<string, string>;
  /** Extra arguments for `mic serve`. */
  args?: string[];
  /** Milliseconds to wait for the "listening" line (default 30000). */
  startTimeoutMs?: number;
  /** Command that execs the daemon (same pid), e.g. ['prlimit', '--nofile=1200:1200', '--']. */
  wrap?: string[];
}

export interface Daemon {
  port: number;
  dataDir: string;
  pid: number;
  /** Everything the daemon printed (stdout + stderr) in this test run, across restarts. */
  log(): string;
  /** Log lines (parsed pino JSON) matching a predicate. */
  logLines(pred?: (l: Record<string, unknown>) => boolean): Record<string, unknown>[];
  /** Stops the daemon (SIGTERM by default; SIGKILL after 10 s). Resolves with its exit code/signal. */
  stop(signal?: NodeJS.Signals, opts?: { cleanup?: boolean }): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops (SIGKILL by default) and starts again on the same port and data dir. */
  restart(opts?: { signal?: NodeJS.Signals }): Promise<void>;
  /** Runs the CLI with --data-dir of this daemon appended (unless args contain --data-dir). */
  mic(args: string[], opts?: { timeoutMs?: number }): Promise<MicResult>;
  initProject(name: string, files: Tree): Promise<MicResult>;
  startSession(project: string, goal: string): Promise<SessionInfo>;
  listSessions(): Promise<SessionInfo[]>;
}

// Daemons still running when the test worker exits are killed (by their own PID).
// One set per worker process (integration files share one fork: see vitest.config.ts).
const LIVE = Symbol.for('mic-fs.test.live-daemons');
const g = globalThis as unknown as Record<symbol, Set<ChildProcess> | undefined>;
const live: Set<ChildProcess> = g[LIVE] ?? (g[LIVE] = new Set<ChildProcess>());
if (!process.listeners('exit').some((f) => f.name === 'killLiveDaemons')) {
  process.on('exit', function killLiveDaemons() {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

/** A client of the API of the daemon serving dataDir, with the token it created (daemon.json says where). */
export function apiClientOf(dataDir: string): MicClient {
  const info = JSON.parse(readFileSync(join(dataDir, 'daemon.json'), 'utf8')) as { api_port: number; api_token_file?: string | null };
  const token = info.api_token_file ? readFileSync(info.api_token_file, 'utf8').trim() : undefined;
  return new MicClient({ baseUrl: `http://127.0.0.1:${info.api_port}`, token });
}

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
}

/** Runs `node dist/src/cli/main.js ...args`. */
export function runMic(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<MicResult> {
  assertBuilt();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      res({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? (signal ? 128 : 1),
      });
    });
  });
}

function withDataDir(args: string[], dataDir: string): string[] {
  return args.includes('--data-dir') ? args : [...args, '--data-dir', dataDir];
}

function expectOk(r: MicResult, what: string): MicResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return r;
}

/** A file of a project tree: its content, or content + mode, or a symlink. */
export type FileSpec = string | Buffer | { content: string | Buffer; mode?: number } | { symlink: string };
export type Tree = Record<string, FileSpec>;

/** Writes `files` (relative path -> spec) under a new temp dir and returns it. */
export function writeTree(files: Tree): string {
  const dir = mkdtempSync(join(tmpdir(), 'mic-src-'));
  for (const [rel, spec] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof spec === 'string' || Buffer.isBuffer(spec)) writeFileSync(p, spec);
    else if ('symlink' in spec) symlinkSync(spec.symlink, p);
    else {
      writeFileSync(p, spec.content);
      if (spec.mode !== undefined) chmodSync(p, spec.mode);
    }
  }
  return dir;
}

/** `mic project init NAME --from <temp dir with files> --data-dir DATADIR`. */
export async function initProject(dataDir: string, name: string, files: Tree): Promise<MicResult> {
  const src = writeTree(files);
  try {
    return expectOk(await runMic(['project', 'init', name, '--from', src, '--data-dir', dataDir]), `project init ${name}`);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/** `mic session start --project P --goal G --json --data-dir DATADIR` -> the session object. */
export async function startSession(dataDir: string, project: string, goal: string): Promise<SessionInfo> {
  const r = expectOk(
    await runMic(['session', 'start', '--project', project, '--goal', goal, '--json', '--data-dir', dataDir]),
    'session start',
  );
  let parsed: { session?: SessionInfo };
  try {
    parsed = JSON.parse(r.stdout) as { session?: SessionInfo };
  } catch {
    throw new Error(`session start --json printed no JSON:\n${r.stdout}`);
  }
  const s = parsed.session;
  if (!s || typeof s.session_id !== 'string' || typeof s.export !== 'string') {
    throw new Error(`session start --json: unexpected output:\n${r.stdout}`);
  }
  return s;
}

/** `mic session list --json --data-dir DATADIR` -> sessions. */
export async function listSessions(dataDir: string): Promise<SessionInfo[]> {
  const r = expectOk(await runMic(['session', 'list', '--json', '--data-dir', dataDir]), 'session list');
  const parsed = JSON.parse(r.stdout) as { sessions?: SessionInfo[] };
  if (!Array.isArray(parsed.sessions)) throw new Error(`session list --json: unexpected output:\n${r.stdout}`);
  return parsed.sessions;
}

interface Proc {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnServe(dataDir: string, port: number, o: StartOptions, sink: string[]): Promise<Proc> {
  assertBuilt();
  const args = [
    CLI,
    'serve',
    '--data-dir',
    dataDir,
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    o.logLevel ?? 'info',
    ...(o.args ?? []),
  ];
  const wrap = o.wrap ?? [];
  const child = spawn(wrap.length ? wrap[0] : process.execPath, wrap.length ? [...wrap.slice(1), process.execPath, ...args] : args, {
    cwd: REPO_ROOT,
    env: { ...process.env, MIC_WARM_UP_CALLS: '0', ...o.env }, // the warm-up (0.5-1 s a start) only where a test asks for it
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      res({ code, signal });
    });
  });
  return new Promise((res, rej) => {
    let buf = '';
    let done = false;
    const finish = (e: Error | null, p?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) {
        child.kill('SIGKILL');
        rej(e);
      } else res({ child, port: p!, exited });
    };
    const timer = setTimeout(
      () => finish(new Error(`daemon did not log "listening" within ${o.startTimeoutMs ?? 30000} ms:\n${sink.join('')}`)),
      o.startTimeoutMs ?? 30_000,
    );
    // ready once daemon.json (written after the API is up) names this process
    const whenInfo = (p: number) => {
      try {
        if ((JSON.parse(readFileSync(join(dataDir, 'daemon.json'), 'utf8')) as { pid: number }).pid === child.pid) return finish(null, p);
      } catch {
        /* not yet */
      }
      if (!done) setTimeout(() => whenInfo(p), 20);
    };
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => sink.push(s));
    child.stdout!.on('data', (s: string) => {
      sink.push(s);
      if (done) return;

      buf += s;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === 'listening' && typeof j.port === 'number') whenInfo(j.port);
        } catch {
          /* not JSON */
        }
      }
    });
    child.on('error', (e) => finish(e));
    void exited.then(({ code, signal }) =>
      finish(new Error(`daemon exited (code ${code}, signal ${signal}) before listening:\n${sink.join('')}`)),
    );
  });
}

/**
 * A second daemon on the first one's (local) store: its own data directory `dataDir` (node id, session
 * states), the first one's objects directory through a symlink, so that both share projects, heads, session
 * records and holder refs, as daemons on one S3 bucket do. Both with the API on a free port.
 */
export async function startSharingStore(first: Daemon, dataDir: string, o: StartOptions = {}): Promise<Daemon> {
  mkdirSync(dataDir, { mode: 0o700 });
  symlinkSync(join(first.dataDir, 'objects'), join(dataDir, 'objects'));
  return startDaemon({ ...o, dataDir, args: ['--api-port', '0', ...(o.args ?? [])] });
}

export async function startDaemon(o: StartOptions = {}): Promise<Daemon> {
  const ownDir = !o.dataDir;
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'mic-data-'));
  const sink: string[] = [];
  let proc = await spawnServe(dataDir, o.port ?? 0, o, sink);

  const stop: Daemon['stop'] = async (signal = 'SIGTERM', opts = {}) => {
    const p = proc;
    let r: { code: number | null; signal: NodeJS.Signals | null };
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      r = await p.exited;
    } else {
      p.child.kill(signal);
      const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      r = await p.exited;
      clearTimeout(t);
    }
    if (opts.cleanup ?? ownDir) rmSync(dataDir, { recursive: true, force: true });
    return r;
  };

  const d: Daemon = {
    get port() {
      return proc.port;
    },
    dataDir,
    get pid() {
      return proc.child.pid!;
    },
    log: () => sink.join(''),
    logLines(pred) {
      const lines: Record<string, unknown>[] = [];
      for (const l of sink.join('').split('\n')) {
        try {
          const j = JSON.parse(l) as Record<string, unknown>;
          if (!pred || pred(j)) lines.push(j);
        } catch {
          /* not JSON */
        }
      }
      return lines;
    },
    stop,
    async restart(opts = {}) {
      const port = proc.port;
      await stop(opts.signal ?? 'SIGKILL', { cleanup: false });
      sink.push(`--- restart (${opts.signal ?? 'SIGKILL'}) ---\n`);
      // the port is free once the process is gone; retry briefly in case it is not yet
      let lastErr: unknown;
      for (let i = 0; i < 20; i++) {
        try {
          proc = await spawnServe(dataDir, port, o, sink);
          if (proc.port !== port) throw new Error(`daemon restarted on port ${proc.port}, wanted ${port}`);
          return;
        } catch (e) {
          lastErr = e;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      throw lastErr;
    },
    mic: (args, opts) => runMic(withDataDir(args, dataDir), opts),
    initProject: (name, files) => initProject(dataDir, name, files),
    startSession: (project, goal) => startSession(dataDir, project, goal),
    listSessions: () => listSessions(dataDir),
  };
  return d;
}
