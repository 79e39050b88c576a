// Everyday POSIX operations through the real Linux kernel NFSv3 client against the
// real daemon: one UML guest runs guest/posix.sh (one step per feature); each test
// below checks its step's result line, the whole run must exit 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus, type GuestResult } from '../lib/kernel.js';

const STEPS = [
  'project_files',
  'create_write_read',
  'append',
  'truncate',
  'mkdir_rmdir',
  'rename_same_dir',
  'rename_across_dirs',
  'rename_over_existing',
  'hardlink',
  'symlink',
  'chmod',
  'utimes',
  'o_excl',
  'vim_save',
  'vscode_save',
  'unlink_open_file',
  'readdir_and_stat',
  'random_io',
  'compile_and_exec',
  'tar_roundtrip',
] as const;

describe.sequential('kernel NFSv3 client: POSIX operations', () => {
  let d: Daemon;
  let s: SessionInfo;
  let r: GuestResult;

  beforeAll(async () => {
    d = await startDaemon();
    await d.initProject('test/posix', {
      'README.md': '# posix\n',
      'docs/guide.txt': 'guide\n',
      'tools/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
      'link.md': { symlink: 'README.md' },
    });
    s = await d.startSession('test/posix', 'posix operations');
    r = await runGuest(guestScript('posix'), { port: d.port, export: s.export, timeout: 400 });
  }, 480_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('the guest script ran every step and exited 0', () => {
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout).toContain(`steps: ${STEPS.length} ok, 0 failed`);
  });

  for (const name of STEPS) {
    it(name.replace(/_/g, ' '), () => {
      expect(stepStatus(r.stdout, name), stepOutput(r.stdout, name) || describeResult(r)).toBe('ok');
    });
  }

  it('the daemon logged no errors (pino level >= 50)', () => {
    const errors = d.logLines((l) => typeof l.level === 'number' && l.level >= 50);
    expect(errors, d.log().slice(-4000)).toEqual([]);
  });
});
