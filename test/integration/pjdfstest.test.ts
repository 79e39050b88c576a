// POSIX conformance (issue 8, section 4): a CI subset of pjdfstest, run as root through the real Linux
// kernel NFSv3 client (../shared/tools/pjdfstest.sh) against the real daemon. The whole suite
// (about 45 minutes under user-mode Linux) is scripts/conformance.sh.
//
// The subset (9 files, 871 subtests) covers what mic-fs had wrong: device nodes (every test over all file
// types makes one), the sticky bit, setuid/setgid clearing on write (chmod/12), new objects' owners and
// modes, hard links and their counts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { kernelClientPath } from '../lib/kernel.js';

export const PJDFSTEST_CI_SET = [
  'chmod/00.t',
  'chmod/12.t', // chmod of every file type (devices included); setuid/setgid cleared on write
  'link/00.t', // hard links of every file type, nlink and ctime
  'mknod/11.t', // block and character devices
  'mkdir/00.t',
  'open/00.t', // owners and modes of new objects
  'rmdir/11.t',
  'unlink/11.t', // the sticky bit
  'rename/00.t',
];

interface Summary {
  files: number;
  failedFiles: number;
  failedSubtests: number;
  totalSubtests: number;
}

function runPjdfstest(port: number, exp: string, set: string[], log: string): Promise<{ code: number; out: string }> {
  const tool = join(dirname(kernelClientPath()), 'pjdfstest.sh');
  return new Promise((res, rej) => {
    const child = spawn(
      'bash',
      [tool, '--timeout', '900', '--log', log, '--set', set.join(' '), '127.0.0.1', String(port), String(port), exp],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? 1, out: Buffer.concat(out).toString('utf8') }));
  });
}

function parseSummary(out: string): Summary | null {
  const m = /^PJDFSTEST files=(\d+) failed_files=(\d+) failed_subtests=(\d+) total_subtests=(\d+)$/m.exec(out);
  return m ? { files: +m[1], failedFiles: +m[2], failedSubtests: +m[3], totalSubtests: +m[4] } : null;
}

describe.sequential('pjdfstest through the kernel NFSv3 client (CI subset)', () => {
  let d: Daemon;
  let s: SessionInfo;
  let r: { code: number; out: string };
  let log = '';
  const logDir = mkdtempSync(join(tmpdir(), 'mic-pjdfstest-'));

  beforeAll(async () => {
    d = await startDaemon();
    await d.initProject('test/pjdfstest', { README: 'pjdfstest\n' });
    s = await d.startSession('test/pjdfstest', 'pjdfstest');
    const logFile = join(logDir, 'pjdfstest.log');
    r = await runPjdfstest(d.port, s.export, PJDFSTEST_CI_SET, logFile);
    try {
      log = readFileSync(logFile, 'utf8');
    } catch {
      log = '';
    }
  }, 1_000_000);

  afterAll(async () => {
    await d?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('every subtest of the subset passes', () => {
    const sum = parseSummary(r.out);
    const failed = log
      .split('\n')
      .filter((l) => /\.t \.+ $|^Failed|^\s+Failed tests/.test(l))
      .join('\n');
    expect(sum, r.out).not.toBeNull();
    expect(sum!.files, r.out).toBe(PJDFSTEST_CI_SET.length);
    expect(sum!.totalSubtests).toBeGreaterThan(800);
    expect({ failedSubtests: sum!.failedSubtests, failedFiles: sum!.failedFiles }, `${r.out}\n${failed}`).toEqual({
      failedSubtests: 0,
      failedFiles: 0,
    });
    expect(r.code, r.out).toBe(0);
  });

  it('the daemon logged no errors (pino level >= 50)', () => {
    const errors = d.logLines((l) => typeof l.level === 'number' && l.level >= 50);
    expect(errors, d.log().slice(-4000)).toEqual([]);
  });
});
