// Issue 8 item 6: sealing streams files through the chunker with bounded memory, so a file above 2 GiB
// (one WRITE of one byte past 2 GiB makes one) lands; CREATE's size is held to the maximum file size.
// Over the wire: NFSv3 client + HTTP API against the in-process daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { lookupPath } from '../../src/session/history.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { makeProject, testDaemon, type TestDaemon } from './helpers.js';

let t: TestDaemon;
let client: Nfs3Client;
const GiB = 1024 ** 3;

beforeAll(async () => {
  t = await testDaemon();
  client = await Nfs3Client.connect(t.d.port);
  await makeProject(t.dataDir, 'big/p', { 'README.md': 'r\n' });
});

afterAll(async () => {
  await client?.close();
  await t?.close();
});

describe('large files', () => {
  it('CREATE with a size above the maximum file size gets FBIG', async () => {
    const s = (await t.api.start({ goal: 'fbig', project: 'big/p' })).session;
    const root = await client.mountRoot(s.export!);
    const r = await client.create(root, 'huge', { kind: 'unchecked', attrs: { size: 2 ** 40 + 1 } });
    expect(r.status).toBe(NfsStatus.FBIG);
    expect((await client.lookup(root, 'huge')).status).toBe(NfsStatus.NOENT);
  });

  it('a sparse file above 2 GiB lands, with memory bounded while sealing', async () => {
    const s = (await t.api.start({ goal: 'sparse', project: 'big/p' })).session;
    const root = await client.mountRoot(s.export!);
    const fh = (await client.create(root, 'sparse.bin', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    const off = 2 * GiB + 4096; // past what one Buffer read (readFileSync) can hold
    expect((await client.write(fh, off, Buffer.from('X'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    expect((await client.write(fh, 17, Buffer.from('head'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);

    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let landed;
    try {
      landed = await t.api.land(s.session_id, { message: 'sparse' });
    } finally {
      clearInterval(sampler);
    }
    // the whole file held at once would be 2.5 GiB; streaming holds a window and a few chunks
    expect(peak - rss0).toBeLessThan(512 * 1024 * 1024);

    const store = openCatalog(t.dataDir).store('big/p');
    const e = await lookupPath(store, landed.head.tree, ['sparse.bin']);
    expect(e?.size).toBe(off + 1);
    expect((await store.readBlob(e!.hash!, off, 1)).toString()).toBe('X');
    expect((await store.readBlob(e!.hash!, 17, 4)).toString()).toBe('head');
    expect((await store.readBlob(e!.hash!, GiB, 8)).equals(Buffer.alloc(8))).toBe(true);
  }, 240_000);
});

describe('EFBIG', () => {
  it('a WRITE the kernel refuses with EFBIG gets NFS3ERR_FBIG, and the daemon goes on', async () => {
    // RLIMIT_FSIZE on this process (the daemon runs in it): writes past it fail with EFBIG once SIGXFSZ is handled
    const ignore = () => {};
    process.on('SIGXFSZ', ignore);
    const limit = (v: string) => execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${v}`]);
    const before = execFileSync('prlimit', ['--pid', String(process.pid), '--fsize', '--raw', '--noheadings', '--output=SOFT,HARD'])
      .toString()
      .trim()
      .split(/\s+/);
    const s = (await t.api.start({ goal: 'efbig', project: 'big/p' })).session;
    const root = await client.mountRoot(s.export!);
    const fh = (await client.create(root, 'limited.bin', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    limit(`${64 * 1024 * 1024}:${before[1]}`);
    let w;
    try {
      w = await client.write(fh, 100 * 1024 * 1024, Buffer.from('past the limit'), StableHow.FILE_SYNC);
    } finally {
      limit(`${before[0]}:${before[1]}`);
      process.off('SIGXFSZ', ignore);
    }
    expect(w.status).toBe(NfsStatus.FBIG);
    expect((await client.write(fh, 0, Buffer.from('within'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
  });
});
