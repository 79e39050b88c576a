// A cross-process lock file: created with O_EXCL ('wx'), holding {pid, host, token, time}.
// A lock is stale when it is older than staleMs or its owner (same host) is dead; a stale
// lock is moved aside with rename() and only deleted if it is still the one judged stale.
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isCode } from '../../util/errno.js';

export interface FileLockOptions {
  /** A lock older than this is broken (default 10 s). */
  staleMs?: number;
  /** Give up waiting after this long (default 30 s). */
  timeoutMs?: number;
}

interface LockInfo {
  pid: number;
  host: string;
  token: string;
  time: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isCode(e, 'EPERM');
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as LockInfo;
    return typeof v.pid === 'number' && typeof v.time === 'number' && typeof v.token === 'string' ? v : null;
  } catch {
    return null;
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return null;
    throw e;
  }
}

/** Acquire the lock; resolves with the owner token to pass to releaseFileLock. */
export async function acquireFileLock(lockPath: string, opts: FileLockOptions = {}): Promise<string> {
  const staleMs = opts.staleMs ?? 10_000;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const token = randomBytes(12).toString('hex');
  let delay = 1;
  for (;;) {
    const info: LockInfo = { pid: process.pid, host: hostname(), token, time: Date.now() };
    try {
      const fh = await open(lockPath, 'wx');
      try {
        await fh.writeFile(JSON.stringify(info));
      } finally {
        await fh.close();
      }
      return token;
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw e;
    }
    if (await breakIfStale(lockPath, staleMs)) continue;
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lockPath}`);
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
}

/** True when the lock file still carries our token. */
export async function holdsFileLock(lockPath: string, token: string): Promise<boolean> {
  const text = await readText(lockPath);
  return text !== null && parseLock(text)?.token === token;
}

/** Remove the lock if it is still ours (it may have been broken as stale). */
export async function releaseFileLock(lockPath: string, token: string): Promise<void> {
  if (!(await holdsFileLock(lockPath, token))) return;
  await unlink(lockPath).catch((e) => {
    if (!isCode(e, 'ENOENT')) throw e;
  });
}

/** Returns true when the lock is gone (or was broken) and acquisition should be retried. */
async function breakIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  let text: string | null;
  let mtimeMs: number;
  try {
    text = await readFile(lockPath, 'utf8');
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return true;
    throw e;
  }
  const info = parseLock(text);
  const age = Date.now() - Math.max(info?.time ?? 0, mtimeMs);
  const ownerDead = info !== null && info.host === hostname() && info.pid !== process.pid && !pidAlive(info.pid);
  if (age <= staleMs && !ownerDead) return false;

  const aside = `${lockPath}.broken.${randomBytes(6).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return true;
    throw e;
  }
  const moved = await readText(aside);
  if (moved === text) {
    await unlink(aside).catch(() => {});
    return true;
  }
  // We moved a lock taken after our check: put it back unless the slot was refilled.
  await link(aside, lockPath).catch(() => {});
  await unlink(aside).catch(() => {});
  return false;
}
