// mic mount / session start --mount: the command for each platform (port options only without a
// portmapper, sudo only when not root), printed before it runs. The real mount is in
// test/integration/ops.test.ts (kernel client).
import { describe, expect, it } from 'vitest';
import { mountCommand } from '../../src/cli/mount.js';
import { runMic } from '../lib/daemon.js';
import { makeProject, tempDir, testDaemon } from '../session/helpers.js';

describe('mic mount', () => {
  it('builds the Linux and macOS commands', () => {
    const base = { session: 'sess-1', dir: '/mnt/s', host: '10.1.2.3' };
    expect(mountCommand({ ...base, port: null, platform: 'linux', root: true }).argv).toEqual([
      'mount',
      '-t',
      'nfs',
      '-o',
      'vers=3,proto=tcp,mountproto=tcp,nolock',
      '10.1.2.3:/exports/sessions/sess-1',
      '/mnt/s',
    ]);
    expect(mountCommand({ ...base, port: 2049, platform: 'linux', root: false, extra: 'soft' }).argv).toEqual([
      'sudo',
      'mount',
      '-t',
      'nfs',
      '-o',
      'vers=3,proto=tcp,port=2049,mountport=2049,mountproto=tcp,nolock,soft',
      '10.1.2.3:/exports/sessions/sess-1',
      '/mnt/s',
    ]);
    expect(mountCommand({ ...base, port: null, platform: 'darwin', root: false }).argv).toEqual([
      'sudo',
      'mount',
      '-t',
      'nfs',
      '-o',
      'vers=3,tcp,locallocks,resvport',
      '10.1.2.3:/exports/sessions/sess-1',
      '/mnt/s',
    ]);
    expect(() => mountCommand({ ...base, port: null, platform: 'win32', root: true })).toThrow(/no NFS mount command/);
  }, 120_000);

  it("names the local daemon's port when it runs without a portmapper; session start --mount runs the mount", async () => {
    const t = await testDaemon();
    try {
      await makeProject(t.dataDir, 'acme/mnt', { 'a.txt': 'a\n' });
      const dry = await runMic(['mount', 'sess-abc', '/tmp/x', '--dry-run', '--data-dir', t.dataDir]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout.trim()).toBe(
        `$ mount -t nfs -o vers=3,proto=tcp,port=${t.d.port},mountport=${t.d.port},mountproto=tcp,nolock 127.0.0.1:/exports/sessions/sess-abc /tmp/x`,
      );
      expect((await runMic(['mount', '../etc', '--dry-run', '--data-dir', t.dataDir])).stderr).toMatch(/not a session id/);

      // where the host kernel has no NFS client (here) the mount fails after the command was printed;
      // where it has one, the session is mounted and mic umount takes it down
      const dir = await tempDir('micfs-mnt-');
      const r = await runMic(['session', 'start', '--project', 'acme/mnt', '--goal', 'g', '--mount', dir, '--data-dir', t.dataDir]);
      const id = /session (sess-[0-9a-f]+) started/.exec(r.stdout)?.[1];
      expect(id, r.stdout).toBeDefined();
      expect(r.stdout).toContain(
        `$ mount -t nfs -o vers=3,proto=tcp,port=${t.d.port},mountport=${t.d.port},mountproto=tcp,nolock 127.0.0.1:/exports/sessions/${id} ${dir}`,
      );
      expect(r.stdout).not.toContain('Linux:  sudo'); // the manual instructions are replaced by the mount
      if (r.code === 0) {
        expect(r.stdout).toContain(`mounted 127.0.0.1:/exports/sessions/${id} on ${dir}`);
        const u = await runMic(['umount', dir]);
        expect(u.code, u.stderr).toBe(0);
      } else {
        expect(r.stderr).toMatch(/mount/);
      }
    } finally {
      await t.close();
    }
  }, 120_000);
});
