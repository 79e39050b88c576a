// The daemon is restarted (SIGKILL, then SIGTERM) between two steps of a guest script
// while the kernel client stays mounted with files and a directory open: the mount
// keeps working, no ESTALE, data synced before the restart is intact, data written
// before the restart and synced after it is intact, a file being written (O_DIRECT)
// while the daemon is killed is intact.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import {
  describeResult,
  guestScript,
  runGuest,
  startHostHook,
  stepOutput,
  stepStatus,
  type GuestResult,
  type HostHook,
} from '../lib/kernel.js';
import { nfsCat } from '../lib/libnfs.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.sequential('kernel NFSv3 client: daemon restart under a live mount', () => {
  let d: Daemon;
  let s: SessionInfo;
  let r: GuestResult;
  let hook: HostHook;
  let dir: string;
  const src1 = randomBytes(8 << 20);
  const src2 = randomBytes(4 << 20);
  const src3 = randomBytes(96 << 20);
  const pids: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mic-restart-'));
    writeFileSync(join(dir, 'src1'), src1);
    writeFileSync(join(dir, 'src2'), src2);
    writeFileSync(join(dir, 'src3'), src3);
    d = await startDaemon();
    pids.push(d.pid);
    await d.initProject('test/restart', { 'README.md': 'restart\n' });
    s = await d.startSession('test/restart', 'restart');
    hook = startHostHook({
      restart: async () => {
        await d.restart({ signal: 'SIGKILL' });
        pids.push(d.pid);
      },
      'restart-term': async () => {
        await d.restart({ signal: 'SIGTERM' });
        pids.push(d.pid);
      },
    });
    r = await runGuest(guestScript('restart'), {
      port: d.port,
      export: s.export,
      timeout: 400,
      rw: [hook.dir],
      env: {
        ...hook.env,
        RESTART_SRC1: join(dir, 'src1'),
        RESTART_SRC2: join(dir, 'src2'),
        RESTART_SHA1: sha(src1),
        RESTART_SHA2: sha(src2),
        RESTART_SRC3: join(dir, 'src3'),
        RESTART_SHA3: sha(src3),
      },
    });
  }, 480_000);

  afterAll(async () => {
    hook?.stop();
    await d?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the guest script exited 0', () => {
    expect(r.code, describeResult(r)).toBe(0);
  });

  it('the host restarted the daemon twice, as a new process each time', () => {
    expect(hook.errors.map((e) => e.message)).toEqual([]);
    expect(hook.served).toEqual(['restart', 'restart-term']);
    expect(new Set(pids).size).toBe(3);
  });

  for (const name of ['before', 'restart_kill', 'after_kill', 'restart_term', 'after_term']) {
    it(`step ${name}`, () => {
      expect(stepStatus(r.stdout, name), stepOutput(r.stdout, name) || describeResult(r)).toBe('ok');
    });
  }

  it('no ESTALE / stale file handle anywhere in the guest output', () => {
    expect(r.stdout + r.stderr).not.toMatch(/stale file handle|ESTALE/i);
  });

  it('after a third restart the data is still there (libnfs)', async () => {
    await d.restart({ signal: 'SIGKILL' });
    const t = { port: d.port, export: s.export };
    expect(sha(await nfsCat(t, 'd/synced.bin'))).toBe(sha(src1));
    expect(sha(await nfsCat(t, 'd/unsynced.bin'))).toBe(sha(src2));
    expect(sha(await nfsCat(t, 'd/inflight.bin'))).toBe(sha(src3));
    expect((await nfsCat(t, 'd/append.txt')).toString()).toBe('line1\nline2\nline3\n');
  });
});
