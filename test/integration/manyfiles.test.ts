// 20,000 files in one directory through the kernel NFSv3 client: created, listed
// (count and names match, also after the guest dropped its caches), removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus, type GuestResult } from '../lib/kernel.js';
import { nfsLs } from '../lib/libnfs.js';

const N = 20_000;

describe.sequential('kernel NFSv3 client: 20,000 files in one directory', () => {
  let d: Daemon;
  let s: SessionInfo;
  let r: GuestResult;

  beforeAll(async () => {
    d = await startDaemon();
    await d.initProject('test/many', { 'README.md': 'many\n' });
    s = await d.startSession('test/many', '20k files');
    r = await runGuest(guestScript('manyfiles'), { port: d.port, export: s.export, timeout: 900, env: { MANY_FILES: String(N) } });
  }, 1_000_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('the guest script exited 0', () => {
    expect(r.code, describeResult(r)).toBe(0);
  });

  for (const name of ['create', 'list', 'remove']) {
    it(`step ${name}`, () => {
      expect(stepStatus(r.stdout, name), stepOutput(r.stdout, name) || describeResult(r)).toBe('ok');
    });
  }

  it('afterwards the export holds only the project file', async () => {
    const ls = await nfsLs({ port: d.port, export: s.export });
    expect(ls.map((e) => e.name).sort()).toEqual(['README.md']);
  });
});
