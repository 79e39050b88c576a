// Helpers for the trust tests: a real daemon process, its memory, raw sockets from chosen addresses.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startDaemon, type Daemon, type StartOptions } from '../lib/daemon.js';
import { Nfs3Client } from '../lib/nfs3-client.js';

/** A daemon (child process) with one project and one live session. */
export async function daemonWithSession(o: StartOptions = {}): Promise<{ d: Daemon; exportPath: string }> {
  const d = await startDaemon(o);
  await d.initProject('trust/app', { 'README.md': 'hello\n', 'src/main.c': 'int main(void) { return 0; }\n' });
  const s = await d.startSession('trust/app', 'trust tests');
  return { d, exportPath: s.export };
}

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now, VmHWM: peak resident). */
export function procMem(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

export const MiB = 1024 * 1024;

/** Opens a TCP connection from `localAddress`; resolves once connected. */
export function rawConnect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

/** Resolves when the peer closes `s`, or with false after `ms`. */
export function closedWithin(s: net.Socket, ms: number): Promise<boolean> {
  if (s.destroyed || s.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
    s.resume();
  });
}

/** An NFS client connected from `localAddress`, with the export's root handle. */
export async function mountFrom(port: number, exportPath: string, localAddress = '127.0.0.1'): Promise<{ c: Nfs3Client; root: Buffer }> {
  const c = await Nfs3Client.connect(port, '127.0.0.1', { localAddress });
  return { c, root: await c.mountRoot(exportPath) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (up to `ms`) until the daemon has logged at least `n` lines matching `pred`; returns them. */
export async function waitForLog(
  d: Daemon,
  pred: (l: Record<string, unknown>) => boolean,
  n = 1,
  ms = 10_000,
): Promise<Record<string, unknown>[]> {
  const until = Date.now() + ms;
  for (;;) {
    const lines = d.logLines(pred);
    if (lines.length >= n || Date.now() > until) return lines;
    await sleep(50);
  }
}
