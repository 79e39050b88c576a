// Large READs of a session file (>= 64 KiB) land in a pooled buffer behind room for the reply's headers and go out
// as that one buffer (src/nfs/read.ts, DataFiles.read, read-ahead.ts HEADROOM); the pooled buffers are not zeroed
// and are reused from READ to READ. Hundreds of large READs in flight on three connections, of files whose sizes
// are not multiples of 4, at offsets inside, near and past the end, each carry exactly their bytes, a zeroed XDR
// padding, the right count and eof and nothing after; sequential 1 MiB READs (served by the read-ahead) see every
// WRITE and truncation acknowledged before them; a READ racing a truncation from another client sees one state or
// the other, never a mix; nfs-cat (libnfs) reads every file back. This is the path without the sendfile addon
// (MIC_SENDFILE=0 here); with it, large READs are sent from the data file (test/nfs/read-sendfile.test.ts), whose
// pages travel by reference: a truncation racing the send may zero a cut page's tail in the reply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { nfsCat } from '../lib/libnfs.js';
import { seeded } from '../store/seeded.js';
import { readRaw } from './read-raw.js';

const MiB = 1024 * 1024;
const sendfileWas = process.env.MIC_SENDFILE;
process.env.MIC_SENDFILE = '0'; // read once, at the first large READ (rpc/file-slice.ts)
let f: Fixture;
let b: Nfs3Client;
let c: Nfs3Client;
const sizes = [6 * MiB + 1, 3 * MiB + 2, MiB + 3, 700_001, 65_537];
const files: { name: string; fh: Buffer; content: Buffer }[] = [];

async function fileWith(name: string, content: Buffer): Promise<Buffer> {
  const r = await f.client.create(f.root, name, { kind: 'unchecked', attrs: { mode: 0o644 } });
  expect(r.status).toBe(NfsStatus.OK);
  for (let o = 0; o < content.length; o += MiB) {
    expect((await f.client.write(r.fh!, o, content.subarray(o, o + MiB), StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
  }
  return r.fh!;
}

beforeAll(async () => {
  f = await nfsFixture();
  b = await Nfs3Client.connect(f.server.port, f.server.host);
  c = await Nfs3Client.connect(f.server.port, f.server.host);
  for (const [i, size] of sizes.entries()) {
    const name = `large-${i}.bin`;
    const content = seeded(size, 40 + i);
    files.push({ name, fh: await fileWith(name, content), content });
  }
});
afterAll(async () => {
  await b?.close();
  await c?.close();
  await f?.close();
  if (sendfileWas === undefined) delete process.env.MIC_SENDFILE;
  else process.env.MIC_SENDFILE = sendfileWas;
});

function expectRead(got: { data: Buffer; eof: boolean }, content: Buffer, offset: number, count: number): void {
  const want = content.subarray(Math.min(offset, content.length), Math.min(offset + count, content.length));
  expect(got.data.length).toBe(want.length);
  expect(got.data.equals(want)).toBe(true);
  expect(got.eof).toBe(offset + want.length >= content.length);
}

describe('large READs sent as one pooled buffer', () => {
  it('hundreds in flight on three connections, of different files, lengths, offsets and ends', async () => {
    const counts = [65_536, 65_537, 100_003, 524_290, MiB - 1, MiB];
    const clients = [f.client, b, c];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 240; i++) {
      const file = files[(i * 3) % files.length];
      const count = counts[(i * 5) % counts.length];
      const len = file.content.length;
      const offset = [0, 1, 2, 3, Math.floor(len / 3), len - count + 1, len - 70_000, len - 1, len, len + 9][i % 10];
      const at = Math.max(0, offset);
      jobs.push(readRaw(clients[i % 3], file.fh, at, count).then((got) => expectRead(got, file.content, at, count)));
    }
    await Promise.all(jobs);
  });

  it('sequential 1 MiB READs (read ahead) see every WRITE and truncation acknowledged before them', async () => {
    const file = files[0];
    const model = Buffer.from(file.content);
    let size = model.length;
    for (let round = 0; round < 3; round++) {
      for (let o = 0; o < size; o += MiB) {
        const i = o / MiB;
        if (i === 1) {
          // another client writes into the piece the read-ahead may hold
          const mark = seeded(5_003, 90 + round);
          expect((await b.write(file.fh, o + MiB + 17, mark, StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
          mark.copy(model, o + MiB + 17);
          size = Math.max(size, o + MiB + 17 + mark.length);
        }
        if (i === 2 && round === 1) {
          // another client cuts the file short inside the next piece (not on a 4-byte boundary)
          size = o + 300_001;
          expect((await c.setattr(file.fh, { size })).status).toBe(NfsStatus.OK);
        }
        const got = await readRaw(f.client, file.fh, o, MiB);
        expectRead(got, model.subarray(0, size), o, MiB);
      }
      if (round === 1) {
        // grow it back: the tail past the cut reads as written again
        const tail = model.subarray(size);
        for (let o = 0; o < tail.length; o += MiB) {
          expect((await b.write(file.fh, size + o, tail.subarray(o, o + MiB), StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
        }
        size = model.length;
      }
    }
    file.content = Buffer.from(model.subarray(0, size));
  });

  it('a READ racing a truncation from another client sees the file before or after it, never a mix', async () => {
    const file = files[1];
    const before = file.content;
    for (let i = 0; i < 12; i++) {
      const cut = 2 * MiB + 1 + i * 4_099;
      // two sequential READs: the read-ahead then holds the third piece when the race starts
      expectRead(await readRaw(f.client, file.fh, 0, MiB), before, 0, MiB);
      expectRead(await readRaw(f.client, file.fh, MiB, MiB), before, MiB, MiB);
      const [got, t] = await Promise.all([readRaw(f.client, file.fh, 2 * MiB, MiB), c.setattr(file.fh, { size: cut })]);
      expect(t.status).toBe(NfsStatus.OK);
      const full = got.data.length === MiB; // the file is 3 MiB + 2 before, under 3 MiB after
      expectRead(got, full ? before : before.subarray(0, cut), 2 * MiB, MiB);
      // restore the file for the next round
      expect((await b.write(file.fh, cut, before.subarray(cut), StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
    }
  });

  it('nfs-cat (libnfs) reads every file back byte for byte', async () => {
    const t = { server: f.server.host, port: f.server.port, export: f.server.exportPath };
    for (const file of files) expect((await nfsCat(t, file.name)).equals(file.content)).toBe(true);
  });
});
