// git on the NFS mount through the kernel NFSv3 client: init, add, commit, status,
// log, fsck, gc, branch, merge, clone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus, type GuestResult } from '../lib/kernel.js';

describe.sequential('kernel NFSv3 client: git', () => {
  let d: Daemon;
  let s: SessionInfo;
  let r: GuestResult;

  beforeAll(async () => {
    d = await startDaemon();
    await d.initProject('test/git', { 'README.md': 'git\n' });
    s = await d.startSession('test/git', 'git workflow');
    const id = { name: 'Mic Tester', email: 'tester@example.com' };
    r = await runGuest(guestScript('git'), {
      port: d.port,
      export: s.export,
      timeout: 400,
      env: {
        GIT_AUTHOR_NAME: id.name,
        GIT_AUTHOR_EMAIL: id.email,
        GIT_COMMITTER_NAME: id.name,
        GIT_COMMITTER_EMAIL: id.email,
      },
    });
  }, 480_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('the guest script exited 0', () => {
    expect(r.code, describeResult(r)).toBe(0);
  });

  for (const name of ['init_commit', 'modify_commit', 'fsck', 'gc_branches']) {
    it(`step ${name}`, () => {
      expect(stepStatus(r.stdout, name), stepOutput(r.stdout, name) || describeResult(r)).toBe('ok');
    });
  }
});
