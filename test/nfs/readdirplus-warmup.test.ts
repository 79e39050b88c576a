// The READDIRPLUS JIT warm-up (src/nfs/readdirplus.ts): started by the first page that does not reach the end
// of its directory, it encodes synthetic listings one page per event-loop turn. Over the wire: a large
// directory listed while it runs and after it is done shows every entry once, with its own attributes and
// handle (nothing synthetic leaks into a reply), and a small directory's listing never starts it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nfsFixture, type Fixture } from '../lib/nfs-fixture.js';
import { NfsStatus, ZERO_VERF, type DirEntryPlus3 } from '../lib/nfs3-client.js';
import { warmUp, warmUpState } from '../../src/nfs/readdirplus.js';
import { until } from '../lib/until.js';

let f: Fixture;
let big: Buffer;
const N = 700;
const lookedUp = new Map<string, { fh: Buffer; fileid: number; size: number }>();

beforeAll(async () => {
  f = await nfsFixture();
  const small = await f.freshDir('small');
  for (const n of ['a', 'b', 'c']) expect((await f.client.create(small, n, { kind: 'unchecked', attrs: {} })).status).toBe(NfsStatus.OK);
  const all = await listAll(small);
  expect(all.map((e) => e.name).sort()).toEqual(['.', '..', 'a', 'b', 'c']);
  big = await f.freshDir('big');
  for (let i = 0; i < N; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, k) => {
        const name = `f${String(i + k).padStart(7, '0')}`;
        const c = await f.client.create(big, name, { kind: 'unchecked', attrs: { size: i + k } });
        expect(c.status).toBe(NfsStatus.OK);
        lookedUp.set(name, { fh: c.fh!, fileid: c.attrs!.fileid, size: i + k });
      }),
    );
  }
});
afterAll(async () => {
  await f?.close();
});

async function listAll(dir: Buffer): Promise<DirEntryPlus3[]> {
  const out: DirEntryPlus3[] = [];
  let cookie = 0n;
  let verf = ZERO_VERF;
  for (;;) {
    const res = await f.client.readdirplus(dir, cookie, verf, 8192, 65536);
    expect(res.status).toBe(NfsStatus.OK);
    out.push(...res.entries!);
    if (res.entries!.length) cookie = res.entries![res.entries!.length - 1].cookie;
    verf = res.verf!;
    if (res.eof) return out;
  }
}

function check(entries: DirEntryPlus3[]): void {
  const files = entries.filter((e) => e.name !== '.' && e.name !== '..');
  expect(files.length).toBe(N);
  expect(new Set(files.map((e) => e.name)).size).toBe(N);
  for (const e of files) {
    const want = lookedUp.get(e.name);
    expect(want, e.name).toBeDefined();
    expect(e.fileid).toBe(want!.fileid);
    expect(e.attrs?.fileid).toBe(want!.fileid);
    expect(e.attrs?.size).toBe(want!.size);
    expect(e.fh?.equals(want!.fh)).toBe(true);
  }
}

describe('READDIRPLUS warm-up', () => {
  it('a small directory does not start it; a large one does, and is listed exactly while it runs and after', async () => {
    // the small directory (one page, eof) was listed in beforeAll
    expect(warmUpState()).toBe('no');
    const first = await f.client.readdirplus(big, 0n, ZERO_VERF, 8192, 65536);
    expect(first.eof).toBe(false);
    expect(warmUpState()).toBe('running');
    // listings interleaved with the warm-up's pages
    for (let i = 0; i < 3; i++) check(await listAll(big));
    await until(() => warmUpState() === 'done', 20_000);
    check(await listAll(big));
  });

  it('encodes synthetic pages through the listing code without touching any session', () => {
    expect(warmUp()).toBeGreaterThan(8);
  });
});
