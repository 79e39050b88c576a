// Operations against radosgw: `mic doctor` on a missing bucket, bad credentials and a good bucket;
// /metrics of an S3-backed daemon: S3 requests by operation and their latency, errors while the
// gateway is down, landings and conflicts, the upload queue and the disk cache.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/client.js';
import { runMic } from '../lib/daemon.js';
import { apiTokenFor } from '../../src/cli/backend.js';
import type { DaemonInfo } from '../../src/daemon/daemon.js';
import { parsePrometheusText, sumOf } from '../lib/prom-text.js';
import { useCluster } from './cluster.js';
import { initS3Project, s3DaemonEnv, startS3Daemon } from './daemons.js';
import { freshPrefix, tempDir } from './helpers.js';

const cluster = useCluster();

interface DoctorOut {
  ok: boolean;
  checks: { name: string; status: string; detail: string; fix?: string }[];
}

describe.sequential('operations on S3', () => {
  it('mic doctor finds a missing bucket and rejected credentials, and passes on a good bucket', async () => {
    const env = s3DaemonEnv(cluster(), freshPrefix());
    const dir = await tempDir();
    const doctor = async (extra: Record<string, string>) => {
      const r = await runMic(['doctor', '--json', '--data-dir', dir, '--port', '1'], { env: { ...env, ...extra }, timeoutMs: 120_000 });
      return JSON.parse(r.stdout) as DoctorOut;
    };
    const missing = await doctor({ MIC_S3_BUCKET: `no-such-bucket-${randomBytes(4).toString('hex')}` });
    const bucket = missing.checks.find((c) => c.name === 'S3 bucket')!;
    expect(bucket.status).toBe('fail');
    expect(bucket.detail).toMatch(/does not exist/);
    expect(bucket.fix).toMatch(/create the bucket/);

    const badKey = await doctor({ AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    expect(badKey.checks.find((c) => c.name === 'S3 bucket')).toMatchObject({
      status: 'fail',
      fix: expect.stringMatching(/AWS_SECRET_ACCESS_KEY/),
    });

    const good = await doctor({});
    expect(good.checks.find((c) => c.name === 'S3 bucket')).toMatchObject({ status: 'ok' });
    expect(good.checks.find((c) => c.name === 'S3 credentials')).toMatchObject({ status: 'ok' });
  }, 240_000);

  it('/metrics counts S3 requests, errors while the gateway is down, landings, conflicts and the upload queue', async () => {
    const c = cluster();
    const env = s3DaemonEnv(c, freshPrefix(), { MIC_SEAL_DELAY: 'off' });
    const s = await startS3Daemon(env);
    try {
      await initS3Project(env, s.d.dataDir, 'acme/ops', { 'a.txt': 'base\n' });
      const info = JSON.parse(readFileSync(join(s.d.dataDir, 'daemon.json'), 'utf8')) as DaemonInfo;
      const token = apiTokenFor(s.d.dataDir, info);
      const auth = token ? { authorization: `Bearer ${token}` } : undefined;
      const scrape = async () => {
        const res = await fetch(`http://127.0.0.1:${info.api_port}/metrics`, { headers: auth });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        return parsePrometheusText(await res.text());
      };
      const before = await scrape();
      const a = (await s.api.start({ project: 'acme/ops', goal: 'a' })).session.session_id;
      const b = (await s.api.start({ project: 'acme/ops', goal: 'b' })).session.session_id;
      await s.api.files(a, {
        files: [
          { path: 'a.txt', change_type: 'modified', content: 'from a\n' },
          { path: 'big.bin', change_type: 'added', content: randomBytes(300_000).toString('base64'), encoding: 'base64' },
        ],
      });
      await s.api.files(b, { files: [{ path: 'a.txt', change_type: 'modified', content: 'from b\n' }] });
      await s.api.land(a, { message: 'a' });
      const conflict = await s.api.land(b, { message: 'b' }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(ApiError);
      expect((conflict as ApiError).status).toBe(409);

      let after = await scrape();
      // the audit entry's own object is written behind the call's answer (audit-log.ts): a PUT may still be
      // under way, counted as a request and not yet timed
      const inFlight = () =>
        sumOf(after, 'mic_s3_requests_total', { operation: 'put' }) !==
        sumOf(after, 'mic_s3_request_duration_seconds_count', { operation: 'put' });
      for (let i = 0; i < 100 && inFlight(); i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = await scrape();
      }
      const d = (name: string, l: Record<string, string> = {}) => sumOf(after, name, l) - sumOf(before, name, l);
      expect(d('mic_landings_total', { result: 'landed' })).toBe(1);
      expect(d('mic_landings_total', { result: 'conflict' })).toBe(1);
      expect(d('mic_land_conflicts_total')).toBe(1);
      expect(d('mic_land_duration_seconds_count')).toBe(2);
      expect(d('mic_s3_requests_total', { operation: 'put' })).toBeGreaterThan(0);
      expect(d('mic_s3_requests_total', { operation: 'cas_ref' })).toBeGreaterThan(0);
      expect(d('mic_s3_request_duration_seconds_count', { operation: 'put' })).toBe(d('mic_s3_requests_total', { operation: 'put' }));
      expect(after.get('mic_upload_queue_depth')?.type).toBe('gauge');
      expect(sumOf(after, 'mic_upload_queue_depth')).toBe(0); // a landing waits for its uploads
      expect(sumOf(after, 'mic_sessions', { state: 'landed' })).toBe(1);
      expect(sumOf(after, 'mic_sessions', { state: 'active' })).toBe(1);
      expect(after.get('mic_cache_bytes')?.samples.some((x) => x.labels.tier === 'disk')).toBe(true);

      // the gateway down: the stat of an object no tier holds fails (counted as an S3 error; the
      // tiered store then answers "absent": cached-backend.ts)
      await c.stopGateway();
      try {
        const res = await fetch(`http://127.0.0.1:${info.api_port}/api/projects/acme/ops/blobs/${'ab'.repeat(32)}`, { headers: auth });
        expect(res.status).toBe(404);
      } finally {
        await c.startGateway();
      }
      const down = await scrape();
      expect(
        sumOf(down, 'mic_s3_request_errors_total', { operation: 'stat' }) -
          sumOf(after, 'mic_s3_request_errors_total', { operation: 'stat' }),
      ).toBe(1);
    } finally {
      await s.d.stop('SIGTERM', { cleanup: true });
    }
  }, 300_000);
});
