// mic mount / mic umount: run the platform's NFS mount command for a session, printing it first
// (with sudo when not root). Port options are added only when the server has no portmapper on 111:
// given --port, or a local daemon that serves without --portmap.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { exportPath, isValidSessionId } from '../session/record.js';
import { runningDaemon } from './backend.js';
import { dataDirOf, out } from './common.js';

export interface MountPlan {
  argv: string[];
  dir: string;
  source: string;
}

export interface MountInputs {
  session: string;
  dir: string;
  host: string;
  /** NFS/MOUNT port to name in the options; null: none (the server's portmapper answers) */
  port: number | null;
  platform: NodeJS.Platform;
  root: boolean;
  extra?: string;
}

/** The mount command for this platform (Linux mount.nfs, macOS mount_nfs). */
export function mountCommand(i: MountInputs): MountPlan {
  const source = `${i.host}:${exportPath(i.session)}`;
  const ports = i.port === null ? [] : [`port=${i.port}`, `mountport=${i.port}`];
  let opts: string[];
  if (i.platform === 'darwin') opts = ['vers=3', 'tcp', ...ports, 'locallocks', 'resvport'];
  else if (i.platform === 'linux') opts = ['vers=3', 'proto=tcp', ...ports, 'mountproto=tcp', 'nolock'];
  else throw new Error(`mic mount: no NFS mount command known for platform ${i.platform} (mount ${source} by hand)`);
  if (i.extra) opts.push(i.extra);
  const argv = ['mount', '-t', 'nfs', '-o', opts.join(','), source, i.dir];
  return { argv: i.root ? argv : ['sudo', ...argv], dir: i.dir, source };
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function run(argv: string[], dryRun: boolean): Promise<number> {
  out(`$ ${argv.map(shellQuote).join(' ')}`);
  if (dryRun) return Promise.resolve(0);
  return new Promise((res, rej) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
    child.on('error', (e) => rej(new Error(`cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code, signal) => res(code ?? (signal ? 128 : 1)));
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Port options for a mount: --port wins; else a local daemon without a portmapper names its port. */
function portFor(o: { port?: string; host?: string }, dataDir: string): { host: string; port: number | null } {
  const d = runningDaemon(dataDir);
  const host = o.host ?? process.env.MIC_HOST ?? (d && d.bind !== '0.0.0.0' && d.bind !== '::' ? d.bind : '127.0.0.1');
  if (o.port !== undefined) {
    const n = Number(o.port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--port: not a port number: ${o.port}`);
    return { host, port: n };
  }
  if (d && d.portmap_port !== 111) return { host, port: d.port };
  return { host, port: null };
}

/** Mounts a session (shared by `mic mount` and `mic session start --mount`). Returns the exit status. */
export async function mountSession(
  session: string,
  dir: string | undefined,
  o: { host?: string; port?: string; options?: string; dryRun?: boolean },
  dataDir: string,
): Promise<number> {
  if (!isValidSessionId(session)) throw new Error(`not a session id: ${JSON.stringify(session)}`);
  const target = resolve(dir ?? join(homedir(), 'mic', session));
  const { host, port } = portFor(o, dataDir);
  const plan = mountCommand({ session, dir: target, host, port, platform: process.platform, root: isRoot(), extra: o.options });
  if (!o.dryRun && !existsSync(target)) mkdirSync(target, { recursive: true });
  const code = await run(plan.argv, !!o.dryRun);
  if (code === 0 && !o.dryRun) {
    out(`mounted ${plan.source} on ${target}`);
    try {
      mkdirSync(join(dataDir, 'mounts'), { recursive: true });
      writeFileSync(join(dataDir, 'mounts', `${session}.json`), JSON.stringify({ dir: target, time: new Date().toISOString() }));
    } catch {
      /* a data dir we cannot write: mic session exec finds the mount in /proc/mounts, or takes --dir */
    }
  }
  return code;
}

/** Where `mic mount` last mounted a session from this data dir (mic session exec), if that is still a directory. */
export function mountRecordOf(dataDir: string, session: string): string | null {
  try {
    const { dir } = JSON.parse(readFileSync(join(dataDir, 'mounts', `${session}.json`), 'utf8')) as { dir: string };
    return existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

/** The mount point of a session from /proc/mounts (Linux), or null. */
export function mountPointOf(session: string): string | null {
  if (!existsSync('/proc/mounts')) return null;
  const suffix = `:${exportPath(session)}`;
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [src, mnt, type] = line.split(' ');
    if (type?.startsWith('nfs') && src?.endsWith(suffix)) return mnt.replace(/\\040/g, ' ');
  }
  return null;
}

export function mountCommands(): Command[] {
  const mount = new Command('mount')
    .description("mount a session over NFS with the platform's mount command (printed first; sudo when not root)")
    .argument('<session>', 'session id')
    .argument('[dir]', 'mount point (created if missing; default ~/mic/<session>)')
    .option('--host <addr>', "NFS server address (env MIC_HOST; default: the local daemon's address)")
    .option('--port <n>', 'NFS and MOUNT port to name in the options (default: none when the server runs a portmapper)')
    .option('-o, --options <opts>', 'extra mount options, appended')
    .option('--dry-run', 'print the command, run nothing')
    .action(async (session: string, dir: string | undefined, o, c: Command) => {
      process.exitCode = await mountSession(session, dir, o, dataDirOf(c));
    });
  const umount = new Command('umount')
    .description('unmount a session (by mount point or session id)')
    .argument('<target>', "mount point, or a mounted session's id")
    .option('--dry-run', 'print the command, run nothing')
    .action(async (target: string, o) => {
      let dir = target;
      if (!existsSync(target)) {
        const m = mountPointOf(target);
        if (!m) throw new Error(`${target}: neither a directory nor a mounted session`);
        dir = m;
      }
      const argv = ['umount', resolve(dir)];
      process.exitCode = await run(isRoot() ? argv : ['sudo', ...argv], !!o.dryRun);
    });
  return [mount, umount];
}
