// mic doctor as a subprocess: a healthy setup (a daemon serving the data dir), a broken handle
// secret, a secret others can read, and a port nothing answers on.
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMic } from '../lib/daemon.js';
import { makeProject, silent, tempDir, testDaemon } from '../session/helpers.js';
import { startDaemon } from '../../src/daemon/daemon.js';

interface DoctorOut {
  ok: boolean;
  checks: { name: string; status: string; detail: string; fix?: string }[];
}
const check = (o: DoctorOut, name: string) => o.checks.find((c) => c.name === name)!;

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('mic doctor', () => {
  it('passes against a running daemon and says the NFS and MOUNT ports answer', async () => {
    const t = await testDaemon();
    try {
      await makeProject(t.dataDir, 'acme/doc', { 'a.txt': 'a\n' });
      const r = await runMic(['doctor', '--json', '--data-dir', t.dataDir]);
      const o = JSON.parse(r.stdout) as DoctorOut;
      expect(check(o, 'NFS port'), r.stdout).toMatchObject({ status: 'ok', detail: `127.0.0.1:${t.d.port} answers NFS v3` });
      expect(check(o, 'MOUNT port').status).toBe('ok');
      expect(check(o, 'handle secret').status).toBe('ok');
      expect(check(o, 'data directory').status).toBe('ok');
      expect(o.ok, r.stdout).toBe(true);
      expect(r.code).toBe(0);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('says a server that closes the connection runs but does not allow this address (a passing healthcheck)', async () => {
    const dir = await tempDir('micfs-doctor-');
    const d = await startDaemon({ dataDir: dir, bind: '127.0.0.1', port: 0, allow: ['10.0.0.0/8'], log: silent, apiPort: null });
    try {
      const r = await runMic(['doctor', '--ports-only', '--data-dir', dir]);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toContain(
        `warn  NFS port: 127.0.0.1:${d.port} accepted the connection and closed it: 127.0.0.1 is not allowed to connect`,
      );
      expect(r.stdout).toContain("fix: add this client's address to the server's --allow (MIC_ALLOW)");
    } finally {
      await d.close();
    }
  }, 120_000);

  it('finds a broken secret, a secret others can read, and an unreachable port', async () => {
    const dir = await tempDir('micfs-doctor-');
    await makeProject(dir, 'acme/doc', { 'a.txt': 'a\n' });
    const port = await deadPort();
    writeFileSync(join(dir, 'secret'), 'short');
    const r = await runMic(['doctor', '--data-dir', dir, '--port', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}handle secret: .*secret holds 5 bytes, fewer than 32/);
    expect(r.stdout).toMatch(/fix: restart the daemon: it replaces a torn secret/);
    expect(r.stdout).toContain(`FAIL  NFS port: 127.0.0.1:${port} is unreachable for NFS v3 (ECONNREFUSED)`);
    expect(r.stdout).toContain(`FAIL  MOUNT port: 127.0.0.1:${port} is unreachable`);
    expect(r.stdout).toMatch(/problem\(s\) to fix/);

    writeFileSync(join(dir, 'secret'), Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7)));
    chmodSync(join(dir, 'secret'), 0o644);
    const j = JSON.parse((await runMic(['doctor', '--json', '--data-dir', dir, '--port', String(port)])).stdout) as DoctorOut;
    expect(check(j, 'handle secret')).toMatchObject({ status: 'fail', fix: `chmod 600 ${join(dir, 'secret')}` });
    chmodSync(join(dir, 'secret'), 0o600);
    const k = JSON.parse((await runMic(['doctor', '--json', '--data-dir', dir, '--port', String(port)])).stdout) as DoctorOut;
    expect(check(k, 'handle secret').status).toBe('ok');
    expect(check(k, 'NFS port').status).toBe('fail');
  }, 120_000);
});
