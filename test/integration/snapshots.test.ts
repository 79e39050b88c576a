// Read-only snapshots through a real Linux kernel NFSv3 client: the project's head mounted from
// /exports/projects/<org>/<name>/head reads like the head; mounted read-write the server refuses every
// change (EROFS; EACCES for opening a file to write, from ACCESS), mounted -o ro every write fails with
// EROFS; a suspended session mounted beside it refuses writes too (guest/snapshots.sh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus } from '../lib/kernel.js';

const P = 'acme/snap';

describe.sequential('read-only snapshots through the kernel client', () => {
  let d: Daemon;
  let s: SessionInfo;

  beforeAll(async () => {
    d = await startDaemon({ env: { MIC_API_PORT: '0' } });
    await d.initProject(P, { 'README.md': 'landed readme\n', 'src/lib.txt': 'lib\n', link: { symlink: 'README.md' } });
    s = await d.startSession(P, 'to be suspended');
    const r = await d.mic(['session', 'suspend', s.session_id, '--json']);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
  });

  it('reads the head; the server refuses every change; mounted ro every write is EROFS; a suspended session refuses writes', async () => {
    const r = await runGuest(guestScript('snapshots'), {
      port: d.port,
      export: `/exports/projects/${P}/head`,
      env: { SUSPENDED: s.export },
      timeout: 200,
    });
    for (const step of ['reads', 'writes_fail', 'ro_mount', 'suspended'])
      expect(stepStatus(r.stdout, step), `${step}: ${stepOutput(r.stdout, step) || describeResult(r)}`).toBe('ok');
    expect(r.code, describeResult(r)).toBe(0);
  }, 300_000);
});
