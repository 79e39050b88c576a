// READ with read-ahead (src/core/read-ahead.ts) over the wire: a client reading a file in 1 MiB READs while
// it (or another client) changes the file between them always reads what was acknowledged before its READ;
// libnfs's nfs-cat reads the whole file back byte for byte. Read-ahead serves large READs only without the
// sendfile addon (MIC_SENDFILE=0 here; sendfile reads nothing into memory: test/nfs/read-sendfile.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { nfsCat } from '../lib/libnfs.js';
import { seeded } from '../store/seeded.js';

const MiB = 1024 * 1024;
const sendfileWas = process.env.MIC_SENDFILE;
process.env.MIC_SENDFILE = '0'; // read once, at the first large READ (rpc/file-slice.ts)
let f: Fixture;
let other: Nfs3Client;

beforeAll(async () => {
  f = await nfsFixture();
  other = await Nfs3Client.connect(f.server.port, f.server.host);
});
afterAll(async () => {
  await other.close();
  await f.close();
  if (sendfileWas === undefined) delete process.env.MIC_SENDFILE;
  else process.env.MIC_SENDFILE = sendfileWas;
});

async function fileWith(name: string, content: Buffer): Promise<Buffer> {
  const c = await f.client.create(f.root, name, { kind: 'unchecked', attrs: { mode: 0o644 } });
  expect(c.status).toBe(NfsStatus.OK);
  for (let o = 0; o < content.length; o += MiB) {
    const w = await f.client.write(c.fh!, o, content.subarray(o, o + MiB), StableHow.UNSTABLE);
    expect(w.status).toBe(NfsStatus.OK);
  }
  expect((await f.client.commit(c.fh!)).status).toBe(NfsStatus.OK);
  return c.fh!;
}

describe('READ with read-ahead', () => {
  it('every 1 MiB READ sees the writes acknowledged before it, from this client and another', async () => {
    const size = 12 * MiB + 4321;
    const expected = seeded(size, 3);
    const fh = await fileWith('seq.bin', expected);
    for (let i = 0; i * MiB < size; i++) {
      const r = await f.client.read(fh, i * MiB, MiB);
      expect(r.status).toBe(NfsStatus.OK);
      expect(r.data!.equals(expected.subarray(i * MiB, (i + 1) * MiB))).toBe(true);
      expect(r.eof).toBe((i + 1) * MiB >= size);
      // change the piece the next READ asks for (after the reply, so after any read-ahead of it)
      const next = (i + 1) * MiB + (i % 7) * 1000;
      if (next + 16 > size) continue;
      const mark = Buffer.from(`piece ${String(i).padStart(4, '0')} !!`);
      const writer = i % 2 === 0 ? f.client : other;
      await f.client.getattr(fh); // a round trip: the read-ahead scheduled by the READ has run by now
      expect((await writer.write(fh, next, mark, StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
      mark.copy(expected, next);
    }
    // libnfs reads it back whole
    expect((await nfsCat({ server: f.server.host, port: f.server.port, export: f.server.exportPath }, 'seq.bin')).equals(expected)).toBe(
      true,
    );
  });

  it('a SETATTR that shrinks the file, then a REMOVE, between sequential READs', async () => {
    const content = seeded(6 * MiB, 4);
    const fh = await fileWith('shrink.bin', content);
    await f.client.read(fh, 0, MiB);
    await f.client.read(fh, MiB, MiB);
    await f.client.getattr(fh);
    expect((await f.client.setattr(fh, { size: 2 * MiB + 100 })).status).toBe(NfsStatus.OK);
    const r = await f.client.read(fh, 2 * MiB, MiB);
    expect(r.status).toBe(NfsStatus.OK);
    expect(r.eof).toBe(true);
    expect(r.data!.equals(content.subarray(2 * MiB, 2 * MiB + 100))).toBe(true);
    // grown again: the new bytes read as zeros, not as what was there before the shrink
    expect((await f.client.setattr(fh, { size: 4 * MiB })).status).toBe(NfsStatus.OK);
    const z = await f.client.read(fh, 3 * MiB, MiB);
    expect(z.data!.equals(Buffer.alloc(MiB))).toBe(true);
    await f.client.read(fh, 0, MiB);
    await f.client.read(fh, MiB, MiB);
    expect((await f.client.remove(f.root, 'shrink.bin')).status).toBe(NfsStatus.OK);
    expect((await f.client.read(fh, 2 * MiB, MiB)).status).toBe(NfsStatus.STALE);
  });
});
