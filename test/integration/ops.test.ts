// Portmapper, `mic mount` and /metrics against the real Linux kernel client (user-mode Linux).
// The daemon runs with --portmap inside the guest's network namespace (port 111 there is ours
// alone), so the guest mounts with `mount -t nfs -o vers=3,nolock host:/export` - mount.nfs asks
// the portmapper for MOUNT and NFS - and `mic mount` runs the same kind of command. /metrics is
// scraped while the kernel client has written and read through the mount, and parsed strictly.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, initProject, startSession } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest } from '../lib/kernel.js';
import { parsePrometheusText, sumOf } from '../lib/prom-text.js';

const SERVER = '169.254.77.1';
const TOKEN = 'ops-test-token';

describe.sequential('portmapper, mic mount and metrics with the kernel client', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mic-ops-'));
  const out = mkdtempSync(join(tmpdir(), 'mic-ops-out-'));
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('mounts through the portmapper with no port options, and the metrics move', async () => {
    await initProject(dataDir, 'acme/app', { 'README.md': 'hello from the project' });
    const s = await startSession(dataDir, 'acme/app', 'ops');
    const serve = [
      process.execPath,
      CLI,
      'serve',
      '--data-dir',
      dataDir,
      '--bind',
      '0.0.0.0',
      '--port',
      '2049',
      '--portmap',
      '--api-port',
      '2050',
      '--api-bind',
      '0.0.0.0',
      '--api-token',
      TOKEN,
      '--allow',
      '169.254.77.0/24',
      '--log-format',
      'json',
    ];
    const r = await runGuest(guestScript('portmap-mount'), {
      server: SERVER,
      port: 2049,
      mountPort: 111,
      export: s.export,
      mountCmd: 'none',
      serverCmd: `exec ${serve.join(' ')}`,
      env: { SID: s.session_id, CLI, OUT: out, TOKEN },
      rw: [out],
      timeout: 180,
    });
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout).toContain('ALL-OK');
    // rpcinfo -p through our PMAP DUMP
    expect(r.stdout).toMatch(/100005\s+3\s+tcp\s+2049\s+mountd/);
    expect(r.stdout).toMatch(/100003\s+3\s+tcp\s+2049\s+nfs/);

    // mic mount printed the command it ran: no port options, the guest is root (no sudo)
    const printed = readFileSync(join(out, 'mic-mount.out'), 'utf8');
    expect(printed).toContain(`$ mount -t nfs -o vers=3,proto=tcp,mountproto=tcp,nolock ${SERVER}:${s.export} `);
    expect(printed).not.toContain('port=2049');
    expect(readFileSync(join(out, 'mounts.txt'), 'utf8')).toContain(`${SERVER}:${s.export} `);
    expect(readFileSync(join(out, 'mic-umount.out'), 'utf8')).toMatch(/^\$ umount \//);

    // metrics: strict parse of both scrapes, then what the kernel client did shows up
    const before = parsePrometheusText(readFileSync(join(out, 'before.txt'), 'utf8'));
    const during = parsePrometheusText(readFileSync(join(out, 'during.txt'), 'utf8'));
    const d = (name: string, labels: Record<string, string> = {}) => sumOf(during, name, labels) - sumOf(before, name, labels);
    expect(during.get('mic_rpc_calls_total')?.type).toBe('counter');
    expect(during.get('mic_rpc_call_duration_seconds')?.type).toBe('histogram');
    expect(d('mic_rpc_calls_total', { program: 'nfs', procedure: 'WRITE', status: 'ok' })).toBeGreaterThan(0);
    expect(d('mic_rpc_calls_total', { program: 'nfs', procedure: 'READ', status: 'ok' })).toBeGreaterThan(0);
    expect(d('mic_rpc_calls_total', { program: 'nfs', procedure: 'LOOKUP', status: 'noent' })).toBeGreaterThan(0);
    expect(d('mic_nfs_data_bytes_total', { op: 'write' })).toBe(1048576);
    expect(d('mic_nfs_data_bytes_total', { op: 'read' })).toBeGreaterThanOrEqual(1048576);
    expect(d('mic_rpc_call_duration_seconds_count', { program: 'nfs', procedure: 'WRITE' })).toBe(
      d('mic_rpc_calls_total', { program: 'nfs', procedure: 'WRITE' }),
    );
    // the mount itself went through the portmapper and MOUNT before the first scrape
    expect(sumOf(before, 'mic_rpc_calls_total', { program: 'portmap', procedure: 'GETPORT' })).toBeGreaterThan(0);
    expect(sumOf(before, 'mic_rpc_calls_total', { program: 'mount', procedure: 'MNT', status: 'ok' })).toBe(1);
    expect(sumOf(during, 'mic_rpc_connections')).toBeGreaterThan(0);
    expect(sumOf(during, 'mic_sessions', { state: 'active' })).toBe(1);
    expect(sumOf(during, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // no session ids in labels
    for (const f of during.values())
      for (const x of f.samples) for (const v of Object.values(x.labels)) expect(v).not.toContain(s.session_id);
  }, 300_000);
});
