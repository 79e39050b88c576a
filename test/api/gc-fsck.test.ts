// Issue 8 item 3: gc cannot corrupt the store, and mic fsck says exactly what is missing or corrupt.
// The reported corruption, over the real daemon (mic serve) and its API: a blob a session sealed and then
// replaced is deleted by gc with grace 0; the session writes that content again and lands; the daemon's
// cache of existing objects skipped the upload, so the head named a missing blob and READ answered IO
// after a restart.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClientOf, startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import type { MicClient } from '../../src/api/client.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { objectRelKey, sha256Hex } from '../../src/store/index.js';
import { fsck } from '../../src/session/fsck.js';

const PROJECT = 'acme/gcfsck';
const REUSED = 'content that is sealed, replaced, collected, and written again\n'.repeat(4);
let d: Daemon;
let api: MicClient;

beforeAll(async () => {
  d = await startDaemon({ env: { MIC_API_PORT: '0' } });
  expect((await d.initProject(PROJECT, { 'README.md': 'gc\n', 'src/keep.txt': 'keep\n' })).code).toBe(0);
  api = apiClientOf(d.dataDir);
}, 60_000);

afterAll(async () => {
  await d?.stop();
});

async function readOverNfs(exportPath: string, name: string): Promise<{ status: number; data?: string }> {
  const c = await Nfs3Client.connect(d.port);
  try {
    const root = await c.mountRoot(exportPath);
    const l = await c.lookup(root, name);
    if (l.status !== NfsStatus.OK) return { status: l.status };
    const r = await c.read(l.fh!, 0, 1 << 16);
    return { status: r.status, data: r.data?.toString('utf8') };
  } finally {
    await c.close();
  }
}

describe('gc and fsck', () => {
  it('grace under 2h needs force; a forced gc forgets what it deleted, so a landing that reuses a blob uploads it again', async () => {
    const started = (await api.start({ project: PROJECT, goal: 'reuse a collected blob' })).session;
    const s = started.session_id;
    // written and removed through the mount, between two seals: the timeline records trees only at API
    // changes and landings (and gc keeps those), so after the second seal nothing names the blob
    const c = await Nfs3Client.connect(d.port);
    try {
      const root = await c.mountRoot(started.export!);
      const made = await c.create(root, 'reused.txt');
      expect(made.status).toBe(NfsStatus.OK);
      expect((await c.write(made.fh!, 0, Buffer.from(REUSED))).status).toBe(NfsStatus.OK);
      await api.changes(s); // sealed: the blob is uploaded and the daemon knows it exists
      expect((await c.remove(root, 'reused.txt')).status).toBe(NfsStatus.OK);
      await api.changes(s); // sealed again: nothing names the blob any more
    } finally {
      await c.close();
    }

    const store = openCatalog(d.dataDir).store(PROJECT);
    const blobKey = store.key(objectRelKey('blobs', sha256Hex(Buffer.from(REUSED))));
    const blobFile = join(d.dataDir, 'objects', blobKey);
    readFileSync(blobFile); // it is there

    // the floor
    await expect(api.request('POST', '/api/gc', { grace: 0 })).rejects.toMatchObject({ status: 400, body: { field: 'grace' } });
    const cli = await d.mic(['gc', '--grace', '30m']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/at least 2h/);
    readFileSync(blobFile); // still there

    // forced, through the CLI (which runs it in the daemon, whose caches then forget)
    const forced = await d.mic(['gc', '--grace', '0', '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).totals.deleted.objects).toBeGreaterThan(0);
    expect(() => readFileSync(blobFile)).toThrow(/ENOENT/);

    await api.files(s, { files: [{ path: 'reused.txt', change_type: 'added', content: REUSED }] });
    const landed = await api.land(s, { message: 'reuses a collected blob' });
    readFileSync(blobFile); // uploaded again

    const check = await d.mic(['fsck']);
    expect(check.stdout + check.stderr).toMatch(/acme\/gcfsck: .* 0 chunks, 1 sessions: ok/);
    expect(check.code).toBe(0);

    // after a restart (no RAM cache) the landed file reads back over NFS
    await d.restart();
    api = apiClientOf(d.dataDir);
    const next = (await api.start({ project: PROJECT, goal: 'read it back' })).session;
    expect(next.base_head).toBe(landed.head.hash);
    expect(await readOverNfs(next.export!, 'reused.txt')).toEqual({ status: NfsStatus.OK, data: REUSED });
  }, 120_000);

  it('fsck names each missing and corrupt object and what refers to it, and exits 1', async () => {
    const store = openCatalog(d.dataDir).store(PROJECT);
    const head = (await store.getHead())!;
    const src = (await store.lookupDir(head.record.tree, 'src'))!;
    const keep = (await store.lookupDir(src.hash!, 'keep.txt'))!;
    const readme = (await store.lookupDir(head.record.tree, 'README.md'))!;
    const file = (rel: string) => join(d.dataDir, 'objects', store.key(rel));
    const keepFile = file(objectRelKey('blobs', keep.hash!));
    const saved = readFileSync(keepFile);
    const bad = Buffer.from(saved);
    bad[bad.length - 1] ^= 0xff;
    writeFileSync(keepFile, bad);
    rmSync(file(objectRelKey('blobs', readme.hash!)));

    const r = await d.mic(['fsck', '--json']);
    expect(r.code).toBe(1);
    const run = JSON.parse(r.stdout);
    const problems = run.projects[0].problems as { kind: string; key: string; referenced_by: string }[];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'corrupt',
          key: store.key(objectRelKey('blobs', keep.hash!)),
          referenced_by: expect.stringMatching(/src\/keep\.txt$/),
        }),
        expect.objectContaining({
          kind: 'missing',
          key: store.key(objectRelKey('blobs', readme.hash!)),
          referenced_by: expect.stringMatching(/README\.md$/),
        }),
      ]),
    );
    expect(problems).toHaveLength(2);
    const text = await d.mic(['fsck']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`missing ${store.key(objectRelKey('blobs', readme.hash!))}`);

    // the library function other tests call says the same
    expect((await fsck(openCatalog(d.dataDir).backend)).problems).toBe(2);
  }, 60_000);
});
