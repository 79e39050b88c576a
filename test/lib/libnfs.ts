// libnfs-utils (Debian 12: libnfs-utils 4.0) as a user-space NFSv3 client: nfs-ls, nfs-cp, nfs-cat.
//
// URL syntax accepted by these tools (checked against nfs-ganesha and mic-fs):
//   nfs://127.0.0.1/<export>[/<path>]?version=3&nfsport=P&mountport=P
// nfs-ls mounts the whole path as the export: list the export root (optionally -R).
// nfs-cat / nfs-cp split off the last component as the file name and MOUNT the rest,
// so a file in a subdirectory needs a server that allows mounting subdirectories:
// use files at the export root unless that is what you test.
// nfs-cp opens its destination with O_CREAT|O_EXCL: an existing target fails.
import { spawn } from 'node:child_process';

export interface NfsTarget {
  port: number;
  mountPort?: number;
  /** Export path, e.g. /exports/sessions/<id>. */
  export: string;
  server?: string;
}

export interface ToolResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export function nfsUrl(t: NfsTarget, path = ''): string {
  const ex = t.export.replace(/\/+$/, '');
  const p = path.replace(/^\/+/, '');
  return `nfs://${t.server ?? '127.0.0.1'}${ex}${p ? `/${p}` : ''}?version=3&nfsport=${t.port}&mountport=${t.mountPort ?? t.port}`;
}

export function runTool(cmd: string, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      res({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

function check(r: ToolResult, what: string): ToolResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr}${r.stdout.toString('utf8')}`);
  return r;
}

export interface LsEntry {
  mode: string;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  /** Path relative to the listed directory (with -R: "sub/file"). */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
}

/** Parses nfs-ls output lines: "-rw-r--r--  1     0     0            6 name". */
export function parseLs(text: string): LsEntry[] {
  const entries: LsEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([-dlcbps?][-rwxsStT?]{9})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)$/.exec(line);
    if (!m) continue;
    const c = m[1][0];
    entries.push({
      mode: m[1],
      nlink: Number(m[2]),
      uid: Number(m[3]),
      gid: Number(m[4]),
      size: Number(m[5]),
      name: m[6],
      type: c === '-' ? 'file' : c === 'd' ? 'dir' : c === 'l' ? 'symlink' : 'other',
    });
  }
  return entries;
}

/** nfs-ls of the export root (recursive with -R). Throws on failure. */
export async function nfsLs(t: NfsTarget, opts: { recursive?: boolean } = {}): Promise<LsEntry[]> {
  const args = opts.recursive ? ['-R', nfsUrl(t)] : [nfsUrl(t)];
  const r = check(await runTool('nfs-ls', args), `nfs-ls ${args.join(' ')}`);
  return parseLs(r.stdout.toString('utf8'));
}

/** nfs-cat of a file: its bytes. Throws on failure. */
export async function nfsCat(t: NfsTarget, path: string): Promise<Buffer> {
  const url = nfsUrl(t, path);
  return check(await runTool('nfs-cat', [url], 300_000), `nfs-cat ${url}`).stdout;
}

/** nfs-cat without throwing (for "must not exist" checks). */
export function nfsCatRaw(t: NfsTarget, path: string): Promise<ToolResult> {
  return runTool('nfs-cat', [nfsUrl(t, path)], 300_000);
}

/** Upload a local file to PATH on the export (nfs-cp, O_EXCL: PATH must not exist). */
export async function nfsPut(t: NfsTarget, local: string, path: string): Promise<ToolResult> {
  return runTool('nfs-cp', [local, nfsUrl(t, path)], 300_000);
}

/** Download PATH of the export to a local file (nfs-cp). */
export async function nfsGet(t: NfsTarget, path: string, local: string): Promise<ToolResult> {
  return runTool('nfs-cp', [nfsUrl(t, path), local], 300_000);
}
