// Shared helpers for session and API tests: temp data dirs, projects imported from real files,
// and an in-process daemon (NFS + HTTP API on 127.0.0.1, free ports).
import { mkdtemp, mkdir, rm, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';
import pino from 'pino';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { importTree, initProject } from '../../src/session/project.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { MicClient } from '../../src/api/client.js';
import type { ApiLimits } from '../../src/api/limits.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(prefix = 'micfs-session-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export type Files = Record<string, string | Buffer | { symlink: string }>;

export async function writeFiles(root: string, files: Files): Promise<void> {
  for (const [rel, v] of Object.entries(files)) {
    const p = join(root, rel);
    await mkdir(dirname(p), { recursive: true });
    if (typeof v === 'object' && !Buffer.isBuffer(v)) await symlink(v.symlink, p);
    else await writeFile(p, v);
  }
}

/** Imports files as the first head of project in dataDir; returns the head hash. */
export async function makeProject(dataDir: string, project: string, files: Files): Promise<string> {
  const src = await tempDir('micfs-src-');
  await writeFiles(src, files);
  const store = openCatalog(dataDir).store(project);
  const { tree, nextIno } = await importTree(store, src);
  return initProject(store, tree, nextIno, `import ${project}`);
}

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface TestDaemon {
  d: Daemon;
  api: MicClient;
  dataDir: string;
  url: string;
  close(): Promise<void>;
}

export async function testDaemon(
  o: { dataDir?: string; token?: string; apiLimits?: Partial<ApiLimits>; log?: pino.Logger } = {},
): Promise<TestDaemon> {
  const dataDir = o.dataDir ?? (await tempDir('micfs-data-'));
  const d = await startDaemon({
    dataDir,
    bind: '127.0.0.1',
    port: 0,
    allow: ['127.0.0.0/8'],
    log: o.log ?? silent,
    apiPort: 0,
    apiToken: o.token,
    apiLimits: o.apiLimits,
  });
  const url = `http://127.0.0.1:${d.apiPort}`;
  return { d, api: new MicClient({ baseUrl: url, token: o.token }), dataDir, url, close: () => d.close() };
}

/** Raw HTTP call: status and parsed JSON (or text). */
export async function http(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body: parsed };
}
