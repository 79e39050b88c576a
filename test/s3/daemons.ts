// Real daemons (the compiled CLI, subprocesses) on the test radosgw, each with its own data dir, plus
// NFS helpers over the project's TypeScript client.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { MicClient } from '../../src/api/client.js';
import { apiClientOf, runMic, startDaemon, writeTree, type Daemon, type Tree } from '../lib/daemon.js';
import { NfsStatus, Nfs3Client } from '../lib/nfs3-client.js';
import type { S3Env } from './cluster.js';

export function s3DaemonEnv(env: S3Env, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MIC_S3_BUCKET: env.bucket,
    MIC_S3_PREFIX: prefix,
    AWS_ENDPOINT_URL: env.endpoint,
    AWS_ACCESS_KEY_ID: env.accessKeyId,
    AWS_SECRET_ACCESS_KEY: env.secretAccessKey,
    AWS_REGION: env.region,
    MIC_API_PORT: '0',
    ...extra,
  };
}

export interface S3Daemon {
  d: Daemon;
  api: MicClient;
  node: string;
}

export async function startS3Daemon(env: Record<string, string>): Promise<S3Daemon> {
  const d = await startDaemon({ env, startTimeoutMs: 60_000 });
  const node = readFileSync(join(d.dataDir, 'node-id'), 'utf8').trim();
  return { d, api: apiClientOf(d.dataDir), node };
}

/** `mic project init` on the bucket (no daemon involved: the store is written directly). */
export async function initS3Project(env: Record<string, string>, dataDir: string, name: string, files: Tree): Promise<void> {
  const src = writeTree(files);
  try {
    const r = await runMic(['project', 'init', name, '--from', src, '--data-dir', dataDir], { env });
    if (r.code !== 0) throw new Error(`project init failed: ${r.stderr}${r.stdout}`);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

export interface Mount {
  client: Nfs3Client;
  root: Buffer;
}

export async function mount(port: number, exportPath: string): Promise<Mount> {
  const client = await Nfs3Client.connect(port);
  return { client, root: await client.mountRoot(exportPath) };
}

async function walk(m: Mount, parts: string[], create: boolean): Promise<Buffer> {
  let fh = m.root;
  for (const name of parts) {
    const l = await m.client.lookup(fh, name);
    if (l.status === NfsStatus.OK) {
      fh = l.fh!;
      continue;
    }
    if (!create) throw new Error(`LOOKUP ${name}: status ${l.status}`);
    const c = await m.client.mkdir(fh, name, { mode: 0o755 });
    expect(c.status).toBe(NfsStatus.OK);
    fh = c.fh!;
  }
  return fh;
}

/** Creates or overwrites a file (creating its directories) through NFS. */
export async function writeNfs(m: Mount, path: string, content: string): Promise<void> {
  const parts = path.split('/');
  const dir = await walk(m, parts.slice(0, -1), true);
  const c = await m.client.create(dir, parts[parts.length - 1], { kind: 'unchecked', attrs: { mode: 0o644, size: 0 } });
  expect(c.status).toBe(NfsStatus.OK);
  const data = Buffer.from(content);
  const w = await m.client.write(c.fh!, 0, data);
  expect(w.status).toBe(NfsStatus.OK);
  expect(w.count).toBe(data.length);
}

export async function readNfs(m: Mount, path: string): Promise<string> {
  const fh = await walk(m, path.split('/'), false);
  const r = await m.client.read(fh, 0, 1 << 20);
  expect(r.status).toBe(NfsStatus.OK);
  expect(r.eof).toBe(true);
  return r.data!.toString('utf8');
}

/** Mounts to close after the tests, and the daemons to stop. */
export function mountTracker(): {
  mountOn: (d: S3Daemon, exportPath: string) => Promise<Mount>;
  closeAll: (...ds: (S3Daemon | undefined)[]) => Promise<void>;
} {
  const mounts: Mount[] = [];
  return {
    async mountOn(d, exportPath) {
      const m = await mount(d.d.port, exportPath);
      mounts.push(m);
      return m;
    },
    async closeAll(...ds) {
      await Promise.all(mounts.map((m) => m.client.close().catch(() => {})));
      await Promise.all(ds.map((d) => d?.d.stop('SIGTERM', { cleanup: true })));
    },
  };
}
