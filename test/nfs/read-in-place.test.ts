// Small READs are read straight into their reply (src/nfs/read.ts, reply buffers are not zeroed): many READs of
// different files in flight at once on two connections, of every length and alignment and past the end, each
// carry exactly their file's bytes, zero padding and the right count and eof; writes from another client between
// READs are seen; libnfs's nfs-cat reads every file back byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { nfsCat } from '../lib/libnfs.js';
import { seeded } from '../store/seeded.js';
import { readRaw } from './read-raw.js';

let f: Fixture;
let other: Nfs3Client;
const sizes = [1, 2, 3, 5, 4095, 4096, 4097, 10_001, 65_535, 70_003];
const files: { name: string; fh: Buffer; content: Buffer }[] = [];

beforeAll(async () => {
  f = await nfsFixture();
  other = await Nfs3Client.connect(f.server.port, f.server.host);
  for (const [i, size] of sizes.entries()) {
    const name = `in-place-${i}.bin`;
    const content = seeded(size, 100 + i);
    const c = await f.client.create(f.root, name, { kind: 'unchecked', attrs: { mode: 0o644 } });
    expect(c.status).toBe(NfsStatus.OK);
    expect((await f.client.write(c.fh!, 0, content, StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    files.push({ name, fh: c.fh!, content });
  }
});
afterAll(async () => {
  await other?.close();
  await f?.close();
});

function expectRead(got: { data: Buffer; eof: boolean }, content: Buffer, offset: number, count: number): void {
  const want = content.subarray(Math.min(offset, content.length), Math.min(offset + count, content.length));
  expect(got.data.equals(want)).toBe(true);
  expect(got.eof).toBe(offset + want.length >= content.length);
}

describe('small READs read into their reply', () => {
  it('hundreds in flight on two connections, of different files, lengths, alignments and ends', async () => {
    const counts = [1, 2, 3, 4, 5, 511, 4095, 4096, 4097, 8192, 65_535, 65_536];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      const file = files[(i * 7) % files.length];
      const count = counts[(i * 5) % counts.length];
      // offsets inside, at the end and past the end of the file
      const offset = [0, 1, 3, Math.floor(file.content.length / 2), file.content.length - 1, file.content.length, file.content.length + 5][
        i % 7
      ];
      const client = i % 2 === 0 ? f.client : other;
      jobs.push(
        readRaw(client, file.fh, Math.max(0, offset), count).then((got) => expectRead(got, file.content, Math.max(0, offset), count)),
      );
    }
    await Promise.all(jobs);
  });

  it('sees writes from another client acknowledged before each READ', async () => {
    const file = files[sizes.indexOf(10_001)];
    for (let i = 0; i < 40; i++) {
      const at = (i * 997) % (file.content.length - 8);
      const mark = Buffer.from(`w${String(i).padStart(6, '0')}!`);
      expect((await other.write(file.fh, at, mark, StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
      mark.copy(file.content, at);
      const [a, b] = await Promise.all([readRaw(f.client, file.fh, at - (at % 4), 4096), readRaw(f.client, files[i % 3].fh, 0, 4)]);
      expectRead(a, file.content, at - (at % 4), 4096);
      expectRead(b, files[i % 3].content, 0, 4);
    }
  });

  it('nfs-cat (libnfs) reads every file back byte for byte', async () => {
    const t = { server: f.server.host, port: f.server.port, export: f.server.exportPath };
    for (const file of files) expect((await nfsCat(t, file.name)).equals(file.content)).toBe(true);
  });
});
