// Chunk buffers reused (src/store/chunk-pool.ts) through a real daemon with a tiny RAM cache
// (MIC_RAM_CACHE_BYTES): READ replies send cached chunks by reference, so a reply still waiting in a blocked
// socket must keep its chunks' buffers from reuse however much other reads evict; many concurrent readers
// (libnfs nfs-cat) get every byte exact while the pool reuses buffers; a connection closed with replies
// still queued gives their leases back.
import { createHash } from 'node:crypto';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkPoolTotals } from '../../src/store/chunk-pool.js';
import { nfsCat } from '../lib/libnfs.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { until } from '../lib/until.js';
import { landedFilesDaemon, type LandedFilesDaemon } from './landed-files-daemon.js';
import { seeded } from '../store/seeded.js';

const MiB = 1024 * 1024;
const HELD = 'held.bin';
/** incompressible files (stored raw: the chunk is a view of the buffer the file was read into) and one that
 *  compresses (zstd, decompressed into a pooled buffer) */
const files = new Map<string, Buffer>([
  [HELD, seeded(14 * MiB + 77, 1)],
  ...[2, 3, 4, 5, 6].map((s): [string, Buffer] => [`f${s}.bin`, seeded(7 * MiB + s * 1001, s)]),
  ['text.txt', Buffer.from(Array.from({ length: 400_000 }, (_, i) => `line ${i} ${(i * 7919) % 10007}\n`).join(''))],
]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let served: LandedFilesDaemon;
let daemon: LandedFilesDaemon['daemon'];
let exportPath: string;

beforeAll(async () => {
  served = await landedFilesDaemon('reuse', files, 8 * MiB, async (store, tree) => {
    expect((await store.blobChunks((await store.lookupDir(tree, 'text.txt'))!.hash!))!.length).toBeGreaterThan(1);
  });
  ({ daemon, exportPath } = served);
});

afterAll(() => served?.close());

/** A client whose socket can stop reading (its replies then wait in the daemon's socket). */
async function heldClient(): Promise<{ client: Nfs3Client; socket: net.Socket; fh: Buffer }> {
  const client = await Nfs3Client.connect(daemon.port, '127.0.0.1', { timeoutMs: 120_000 });
  const root = await client.mountRoot(exportPath);
  const l = await client.lookup(root, HELD);
  expect(l.status).toBe(NfsStatus.OK);
  const socket = (client.rpc as unknown as { socket: net.Socket }).socket;
  return { client, socket, fh: l.fh! };
}

/** 1 MiB READs of the whole held file at once; their replies are only read when the socket resumes. */
function readAll(client: Nfs3Client, fh: Buffer) {
  const size = files.get(HELD)!.length;
  return Array.from({ length: Math.ceil(size / MiB) }, (_, i) => client.read(fh, i * MiB, MiB));
}

const cat = (name: string) => nfsCat({ port: daemon.port, export: exportPath }, name);

describe('chunk buffers reused under READs by reference', () => {
  it('a reply held in a blocked socket keeps its bytes while other reads evict and reuse buffers', async () => {
    const { client, socket, fh } = await heldClient();
    socket.pause(); // the client reads nothing: the daemon's replies queue up behind the full socket
    const leasesBefore = chunkPoolTotals.leases;
    const reads = readAll(client, fh);
    await until(() => chunkPoolTotals.leases >= leasesBefore + 3); // replies waiting, their chunks leased
    const reusedBefore = chunkPoolTotals.reused;
    const other = await Nfs3Client.connect(daemon.port, '127.0.0.1');
    const root = await other.mountRoot(exportPath);
    for (const name of ['f2.bin', 'f3.bin', 'f4.bin', 'text.txt']) {
      const l = await other.lookup(root, name);
      const want = files.get(name)!;
      for (let off = 0; off < want.length; off += MiB) {
        const r = await other.read(l.fh!, off, MiB);
        expect(r.data!.equals(want.subarray(off, off + MiB))).toBe(true);
      }
    }
    await other.close();
    expect(chunkPoolTotals.reused).toBeGreaterThan(reusedBefore); // buffers were reused meanwhile
    socket.resume();
    const got = await Promise.all(reads);
    for (const r of got) expect(r.status).toBe(NfsStatus.OK);
    expect(sha(Buffer.concat(got.map((r) => r.data!)))).toBe(sha(files.get(HELD)!));
    await client.close();
  });

  it('many concurrent nfs-cat readers of different files: every byte exact, buffers reused', async () => {
    const reusedBefore = chunkPoolTotals.reused;
    const names = [...files.keys()];
    for (let round = 0; round < 2; round++) {
      const got = await Promise.all(names.map((n) => cat(n)));
      names.forEach((n, i) => expect(sha(got[i]!), n).toBe(sha(files.get(n)!)));
    }
    expect(chunkPoolTotals.reused).toBeGreaterThan(reusedBefore);
  });

  it('a connection closed with replies still queued gives their leases back', async () => {
    const { client, socket, fh } = await heldClient();
    const leasesBefore = chunkPoolTotals.leases;
    socket.pause();
    const reads = readAll(client, fh);
    await until(() => chunkPoolTotals.leases >= leasesBefore + 3);
    socket.destroy();
    await Promise.allSettled(reads);
    await until(() => chunkPoolTotals.leases === leasesBefore);
    // and the buffers serve other readers again
    expect(sha(await cat('f5.bin'))).toBe(sha(files.get('f5.bin')!));
  });
});
