// Identity on one bucket shared by two daemon processes (real radosgw): a user and a token made with the
// CLI work on both daemons at once, a revocation through one daemon fails the token at once on the other,
// and both daemons append to one verified audit chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMic } from '../lib/daemon.js';
import { useCluster } from './cluster.js';
import { freshPrefix } from './helpers.js';
import { initS3Project, s3DaemonEnv, startS3Daemon, type S3Daemon } from './daemons.js';

const PROJECT = 'acme/ident';

describe.sequential('identity across daemons on one bucket', () => {
  const cluster = useCluster();
  let d1: S3Daemon, d2: S3Daemon;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = s3DaemonEnv(cluster(), freshPrefix());
    d1 = await startS3Daemon(env);
    d2 = await startS3Daemon(env);
    await initS3Project(env, d1.d.dataDir, PROJECT, { 'README.md': 'ident\n' });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([d1, d2].map((d) => d?.d.stop('SIGTERM', { cleanup: true })));
  });

  const call = async (d: S3Daemon, token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${(d.api as unknown as { o: { baseUrl: string } }).o.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('a token made on the bucket works on both daemons; revoked through one, it fails at once on the other', async () => {
    const add = await runMic(['user', 'add', 'agent-7', '--role', 'write@acme/ident', '--data-dir', d1.d.dataDir], { env });
    expect(add.code).toBe(0);
    const made = await runMic(['token', 'create', '--user', 'agent-7', '--json', '--data-dir', d1.d.dataDir], { env });
    expect(made.code).toBe(0);
    const { token, record } = JSON.parse(made.stdout);
    for (const d of [d1, d2]) expect((await call(d, token, 'GET', '/api/whoami')).body).toMatchObject({ user: 'agent-7' });
    const s = await call(d2, token, 'POST', '/api/sessions/start', { project: PROJECT, goal: 'from d2' });
    expect(s.status).toBe(201);
    expect((await call(d1, token, 'DELETE', `/api/tokens/${record.id}`)).status).toBe(200);
    expect((await call(d2, token, 'GET', '/api/whoami')).status).toBe(401);
    expect((await call(d2, token, 'POST', `/api/sessions/${s.body.session.session_id}/abandon`)).status).toBe(401);
  });

  it('both daemons append to one audit chain, which verifies', async () => {
    const audit = await runMic(['audit', '--json', '--limit', '100', '--data-dir', d2.d.dataDir], { env });
    expect(audit.code).toBe(0);
    const actions = (JSON.parse(audit.stdout).entries as { action: string; actor: string }[])
      .map((e) => `${e.actor} ${e.action}`)
      .reverse();
    expect(actions).toEqual([
      expect.stringMatching(/^local:.* user\.add$/),
      expect.stringMatching(/^local:.* token\.create$/),
      'agent-7 session.start',
      'agent-7 token.revoke',
    ]);
    const v = await runMic(['audit', '--verify', '--data-dir', d1.d.dataDir], { env });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/audit log intact: 4 entries/);
  });
});
