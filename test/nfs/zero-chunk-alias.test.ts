// A file of 4 MiB of zeros is stored whole, as the same object as the zero chunk of every large file with a
// run of zeros (same content, same hash). Once a large file's READ brought that chunk into the RAM cache (a
// pooled buffer), a READ of the small file is answered from it by reference: its replies, waiting in a
// blocked socket, must keep the buffer from reuse while other reads cycle 4 MiB chunks through the cache.
// A real daemon with a small RAM cache (MIC_RAM_CACHE_BYTES); the waiting client reads nothing until the end.
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableMetrics } from '../../src/metrics/registry.js';
import { CHUNK_MAX } from '../../src/store/chunker.js';
import { chunkPoolTotals } from '../../src/store/chunk-pool.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { until } from '../lib/until.js';
import { landedFilesDaemon, type LandedFilesDaemon } from './landed-files-daemon.js';

const MiB = 1024 * 1024;
/** large files whose first chunk is CHUNK_MAX bytes of one value (a run of equal bytes never cuts early) */
const runs = [0, 7, 8, 9, 10, 11, 12, 13];
const files = new Map<string, Buffer>([
  ['zeros.bin', Buffer.alloc(CHUNK_MAX)],
  ...runs.map((v): [string, Buffer] => [`run${v}.bin`, Buffer.alloc(CHUNK_MAX + MiB, v)]),
]);
let served: LandedFilesDaemon;
let daemon: LandedFilesDaemon['daemon'];
let exportPath: string;

beforeAll(async () => {
  // a RAM cache with room for a few 4 MiB chunks; the pool for two
  served = await landedFilesDaemon('alias', files, 16 * MiB, async (store, tree) => {
    const small = (await store.lookupDir(tree, 'zeros.bin'))!.hash!;
    const big = (await store.lookupDir(tree, 'run0.bin'))!.hash!;
    expect((await store.blobChunks(big))![0]!.hash).toBe(small); // one object
  });
  ({ daemon, exportPath } = served);
});

afterAll(() => served?.close());

/** NFS READ data bytes the daemon has answered (its replies made, sent or not) */
async function readBytes(): Promise<number> {
  const m = await enableMetrics().registry.getSingleMetric('mic_nfs_data_bytes_total')!.get();
  return m.values.find((v) => v.labels.op === 'read')?.value ?? 0;
}

describe('a small file that is the zero chunk of a large one', () => {
  it('its READ replies held in a blocked socket stay zeros while 4 MiB chunks are evicted and reused', async () => {
    const other = await Nfs3Client.connect(daemon.port, '127.0.0.1');
    const oroot = await other.mountRoot(exportPath);
    const fhOf = async (c: Nfs3Client, root: Buffer, name: string) => (await c.lookup(root, name)).fh!;
    expect((await other.read(await fhOf(other, oroot, 'run0.bin'), 0, MiB)).status).toBe(NfsStatus.OK); // the zero chunk cached

    const held = await Nfs3Client.connect(daemon.port, '127.0.0.1', { timeoutMs: 120_000 });
    const socket = (held.rpc as unknown as { socket: net.Socket }).socket;
    const fh = await fhOf(held, await held.mountRoot(exportPath), 'zeros.bin');
    socket.pause(); // the client reads nothing: the daemon's replies queue up behind the full socket
    const before = await readBytes();
    const rounds = 4; // 16 MiB of replies: more than the loopback socket's buffers take
    const reads = Array.from({ length: rounds * 4 }, (_, i) => held.read(fh, (i % 4) * MiB, MiB));
    await until(async () => (await readBytes()) >= before + rounds * CHUNK_MAX); // all answered, most not sent

    const reusedBefore = chunkPoolTotals.reused;
    for (const v of runs.slice(1)) {
      const r = await other.read(await fhOf(other, oroot, `run${v}.bin`), 0, MiB);
      expect(r.data!.every((b) => b === v)).toBe(true);
    }
    await other.close();
    expect(chunkPoolTotals.reused).toBeGreaterThan(reusedBefore); // buffers were reused meanwhile

    socket.resume();
    const got = await Promise.all(reads);
    for (const r of got) {
      expect(r.status).toBe(NfsStatus.OK);
      expect(r.data!.length).toBe(MiB);
      expect(r.data!.every((b) => b === 0)).toBe(true);
    }
    await held.close();
  });
});
