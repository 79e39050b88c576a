// Run shell scripts against an NFS export through a REAL Linux kernel NFSv3 client
// (user-mode Linux, ../shared/tools/nfs-kernel-client.sh, loopback mode).
//
// One UML guest at a time: the guest has one CPU and CI has two cores, so the
// integration project in vitest.config.ts runs its files one after another and
// every kernel test file uses describe.sequential.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GUEST_DIR = join(REPO_ROOT, 'test', 'integration', 'guest');

/** Path of nfs-kernel-client.sh: $NFS_KERNEL_CLIENT or <repo>/../shared/tools/. */
export function kernelClientPath(): string {
  const p = process.env.NFS_KERNEL_CLIENT ?? join(dirname(REPO_ROOT), 'shared', 'tools', 'nfs-kernel-client.sh');
  if (!existsSync(p)) {
    throw new Error(`nfs-kernel-client.sh not found at ${p} (the shared/ directory must sit next to the repository)`);
  }
  return p;
}

export interface GuestOptions {
  /** NFS port (also the MOUNT port unless mountPort is given). */
  port: number;
  mountPort?: number;
  /** Export path to mount, e.g. /exports/sessions/<id>. */
  export: string;
  /** Extra environment for the guest script. */
  env?: Record<string, string>;
  /** Host directories the guest may write (hostfs). */
  rw?: string[];
  /** Guest run limit in seconds (nfs-kernel-client.sh --timeout); default 120. */
  timeout?: number;
  /** Extra mount options appended after the defaults. */
  opts?: string;
  /** Guest memory, e.g. '512M' (default of the tool). */
  mem?: string;
  /** Server address on the host loopback (default 127.0.0.1). */
  server?: string;
  /** Stream guest output to this process's stderr while it runs. Default: $MIC_TEST_VERBOSE. */
  verbose?: boolean;
  /**
   * Run the server inside the guest's network namespace (nfs-kernel-client.sh --server-cmd): `server`
   * is then a non-loopback address (e.g. 169.254.77.1) the command listens on, with `port` and
   * `mountPort` the ports the tool waits for.
   */
  serverCmd?: string;
  /** How the guest mounts: 'kernel' (default), 'mount.nfs', or 'none' (the script mounts itself). */
  mountCmd?: 'kernel' | 'mount.nfs' | 'none';
}

export interface GuestResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock seconds of the whole run (boot, mount, script, shutdown). */
  seconds: number;
}

/** Reads test/integration/guest/<name> (the .sh suffix may be omitted). */
export function guestScript(name: string): string {
  const file = join(GUEST_DIR, name.endsWith('.sh') ? name : `${name}.sh`);
  return readFileSync(file, 'utf8');
}

/**
 * Writes `script` to a temp file and runs it in a UML guest that has the export
 * mounted at $MNT (the script's cwd). Resolves with the guest script's exit status
 * (124 timeout, 125 boot/mount failure) and its output. Never rejects for a
 * non-zero status; rejects only if the tool cannot be started.
 */
export async function runGuest(script: string, o: GuestOptions): Promise<GuestResult> {
  const tool = kernelClientPath();
  const dir = mkdtempSync(join(tmpdir(), 'mic-guest-'));
  const file = join(dir, 'guest.sh');
  writeFileSync(file, script, { mode: 0o755 });
  const timeout = o.timeout ?? 120;
  const args = [tool, '--timeout', String(timeout)];
  if (o.opts) args.push('--opts', o.opts);
  if (o.mem) args.push('--mem', o.mem);
  if (o.serverCmd) args.push('--server-cmd', o.serverCmd);
  if (o.mountCmd) args.push('--mount-cmd', o.mountCmd);
  // guest scripts source the shared helpers from the (read-only) host tree
  const env: Record<string, string> = { GUEST_LIB: join(GUEST_DIR, 'lib.sh'), ...(o.env ?? {}) };
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  for (const d of o.rw ?? []) args.push('--rw', d);
  const mountPort = o.mountPort ?? o.port;
  args.push(o.server ?? '127.0.0.1', String(o.port), String(mountPort), o.export, file);
  const verbose = o.verbose ?? !!process.env.MIC_TEST_VERBOSE;
  const t0 = Date.now();
  try {
    return await new Promise<GuestResult>((res, rej) => {
      const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => {
        out.push(b);
        if (verbose) process.stderr.write(b);
      });
      child.stderr.on('data', (b: Buffer) => {
        err.push(b);
        if (verbose) process.stderr.write(b);
      });
      // the tool enforces `timeout` itself; this is a backstop if it hangs
      const killer = setTimeout(
        () => {
          if (child.pid) {
            try {
              process.kill(child.pid, 'SIGTERM');
            } catch {
              /* already gone */
            }
          }
        },
        (timeout + 60) * 1000,
      );
      child.on('error', (e) => {
        clearTimeout(killer);
        rej(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        res({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          seconds: (Date.now() - t0) / 1000,
        });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Formats a guest result for assertion messages. */
export function describeResult(r: GuestResult): string {
  return `exit ${r.code} after ${r.seconds.toFixed(1)}s\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/**
 * Result lines of guest scripts that use lib.sh's `step`: "ok NAME" or
 * "FAIL NAME ..." followed by indented output of the failed step.
 */
export function stepStatus(stdout: string, name: string): 'ok' | 'fail' | 'missing' {
  for (const line of stdout.split('\n')) {
    if (line === `ok ${name}`) return 'ok';
    if (line.startsWith(`FAIL ${name} `) || line === `FAIL ${name}`) return 'fail';
  }
  return 'missing';
}

/** The block of output a failed step printed (for assertion messages). */
export function stepOutput(stdout: string, name: string): string {
  const lines = stdout.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`FAIL ${name}`));
  if (i < 0) return '';
  const block = [lines[i]];
  for (let j = i + 1; j < lines.length && lines[j].startsWith('    '); j++) block.push(lines[j]);
  return block.join('\n');
}

// ------------------------------------------------------------------ host hooks

export type HookHandler = () => Promise<void> | void;

export interface HostHook {
  /** Host directory the guest must get with --rw (pass it in GuestOptions.rw). */
  dir: string;
  /** Environment for the guest (HOST_HOOK=<dir>). */
  env: Record<string, string>;
  /** Names of the requests served so far, in order. */
  served: string[];
  /** Errors thrown by handlers (the guest got an "error" reply). */
  errors: Error[];
  stop(): void;
}

/** File the host writes when it has served request NAME. */
export function hookReplyName(name: string): string {
  return name === 'restart' ? 'restarted' : `${name}.done`;
}

/**
 * Lets a guest script ask the host to do something between two of its steps
 * (e.g. restart the NFS daemon while the client stays mounted).
 *
 * Protocol over a host directory the guest has read-write (hostfs):
 *   guest: writes  DIR/request-NAME  and polls for DIR/<reply>
 *   host:  sees the request, deletes it, runs handlers[NAME], then writes
 *          DIR/<reply> containing "ok" or "error: ...".
 *   <reply> is "restarted" for NAME=restart, "NAME.done" otherwise; the guest
 *   deletes the reply after reading it, so a request can be repeated.
 * Guest side: `host_hook NAME [timeout_s]` in test/integration/guest/lib.sh.
 */
export function startHostHook(handlers: Record<string, HookHandler>, pollMs = 100): HostHook {
  const dir = mkdtempSync(join(tmpdir(), 'mic-hook-'));
  const served: string[] = [];
  const errors: Error[] = [];
  let busy = false;
  let stopped = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      for (const f of readdirSync(dir)) {
        if (!f.startsWith('request-')) continue;
        const name = f.slice('request-'.length);
        try {
          unlinkSync(join(dir, f));
        } catch {
          continue;
        }
        let reply = 'ok';
        try {
          const h = handlers[name];
          if (!h) throw new Error(`no host hook handler for '${name}'`);
          await h();
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          errors.push(err);
          reply = `error: ${err.message}`;
        }
        served.push(name);
        writeFileSync(join(dir, hookReplyName(name)), `${reply}\n`);
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), pollMs);
  return {
    dir,
    env: { HOST_HOOK: dir },
    served,
    errors,
    stop() {
      stopped = true;
      clearInterval(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
