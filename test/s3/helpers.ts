// Helpers for the S3 tests: backends on the test cluster, a counting S3Backend, temp dirs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { S3Backend, type S3BackendOptions } from '../../src/store/s3-backend.js';
import type { S3Env } from './cluster.js';

const dirs: string[] = [];
const backends: S3Backend[] = [];
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'micfs-s3-'));
  dirs.push(d);
  return d;
}

/** A fresh key prefix, so tests on one bucket never see each other's objects. */
export function freshPrefix(): string {
  return `t-${randomBytes(6).toString('hex')}`;
}

export function s3Options(env: S3Env, extra: Partial<S3BackendOptions> = {}): S3BackendOptions {
  return {
    bucket: env.bucket,
    endpoint: env.endpoint,
    region: env.region,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    prefix: freshPrefix(),
    ...extra,
  };
}

/** A real S3Backend that records the keys it reads and writes. */
export class CountingS3 extends S3Backend {
  puts: string[] = [];
  gets: string[] = [];
  heads: string[] = [];
  constructor(opts: S3BackendOptions) {
    super(opts);
    backends.push(this);
  }
  override async put(key: string, data: Buffer): Promise<void> {
    this.puts.push(key);
    return super.put(key, data);
  }
  override async get(key: string): Promise<Buffer | null> {
    this.gets.push(key);
    return super.get(key);
  }
  override async getCaching(...args: Parameters<S3Backend['getCaching']>): ReturnType<S3Backend['getCaching']> {
    const [key] = args;
    this.gets.push(key); // TieredBackend's GETs (the fetch worker writes the cache's copy)
    return super.getCaching(...args);
  }
  override async has(key: string): Promise<boolean> {
    this.heads.push(key);
    return super.has(key);
  }
  override async stat(key: string): Promise<{ size: number; mtimeMs: number } | null> {
    this.heads.push(key);
    return super.stat(key);
  }
  reset(): void {
    this.puts = [];
    this.gets = [];
    this.heads = [];
  }
}

export function s3(env: S3Env, extra: Partial<S3BackendOptions> = {}): CountingS3 {
  return new CountingS3(s3Options(env, extra));
}
