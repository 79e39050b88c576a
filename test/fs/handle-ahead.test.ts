// Issue 10, CREATE at one call in flight: minting the newest inode's handle mints the next number's ahead, in a
// later turn of the loop (after the replies of this one are written), so the next CREATE's reply does not wait
// for its HMAC. The handle handed out is the one a mint at that moment makes: the same bytes, verified by a
// codec with the same key after a restart, and the one a reopened session gives the same file. Real SessionFs,
// journal and store on tmpfs (where the benchmarks keep the data directory).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LocalBackend, ObjectStore } from '../../src/store/index.js';
import { SessionFs, type HandleEpochs } from '../../src/fs/session-fs.js';
import { HandleCodec } from '../../src/fs/handles.js';
import { importTree } from '../../src/session/project.js';

const log = pino({ level: 'silent' });
const SECRET = Buffer.alloc(32, 5);
const root = { uid: 0, gid: 0, gids: [] };
const guarded = { kind: 'guarded' as const, attrs: { mode: 0o644 } };
const turn = () => new Promise<void>((r) => setImmediate(r));

let tmp: string;
let codec: HandleCodec;
let open: (epochs?: HandleEpochs) => Promise<SessionFs>;
let sfs: SessionFs;

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'mic-handle-ahead-'));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'base.txt'), 'base\n');
  const store = new ObjectStore(new LocalBackend(path.join(tmp, 'objects'), { fsync: false }), 'test/proj');
  const base = await importTree(store, src);
  codec = new HandleCodec(SECRET);
  open = (epochs) =>
    SessionFs.open({
      fsid: 9n,
      dir: path.join(tmp, 'session'),
      source: store,
      handles: codec,
      epochs,
      base: { ...base, time: { sec: 1, nsec: 0 } },
      owner: { uid: 0, gid: 0 },
      writeVerifier: Buffer.alloc(8, 1),
      log,
    });
});

afterEach(() => {
  sfs?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the next inode handle, minted ahead', () => {
  it('after a CREATE, the next number’s handle is minted in a later turn and the next CREATE mints none', async () => {
    sfs = await open();
    const encode = vi.spyOn(codec, 'encode');
    const a = await sfs.create(sfs.rootHandle(), 'a.txt', guarded, root);
    encode.mockClear();
    await turn();
    expect(encode).toHaveBeenCalledTimes(1); // the next number's, off the call
    const next = encode.mock.calls[0]![1];
    expect(next).toBe(codec.decode(a.fh).ino + 1);
    encode.mockClear();
    const b = await sfs.create(sfs.rootHandle(), 'b.txt', guarded, root);
    expect(codec.decode(b.fh).ino).toBe(next);
    // the reply's handle came from the one minted ahead: no MAC computed for it in the call
    expect(encode.mock.calls.filter((c) => c[1] === next)).toHaveLength(0);
    // the same bytes a mint makes now, and a fresh codec with the key (a restarted daemon) verifies them
    expect(b.fh.equals(new HandleCodec(SECRET).encode(9n, next))).toBe(true);
    expect(new HandleCodec(SECRET).decode(b.fh)).toMatchObject({ fsid: 9n, ino: next });
    // a MKDIR after a turn takes the next one the same way
    await turn();
    encode.mockClear();
    const d = await sfs.mkdir(sfs.rootHandle(), 'd', {}, root);
    expect(encode.mock.calls.filter((c) => c[1] === codec.decode(d.fh).ino)).toHaveLength(0);
    // a reopened session (the daemon restarted) gives the files the handles their CREATEs answered
    sfs.close();
    sfs = await open();
    const again = new HandleCodec(SECRET);
    expect((await sfs.lookup(sfs.rootHandle(), 'b.txt', root)).node.fh.equals(b.fh)).toBe(true);
    expect((await sfs.lookup(sfs.rootHandle(), 'd', root)).node.fh.equals(d.fh)).toBe(true);
    expect(again.decode(d.fh).ino).toBe(codec.decode(d.fh).ino);
  });

  it('with epochs, the handle minted ahead has the layout a mint makes (v2 with the epoch), and is used only for its number', async () => {
    const epochs: HandleEpochs = { epoch: 3, from: 1, fromNext: 2, baseNext: 2 };
    sfs = await open(epochs);
    const a = await sfs.create(sfs.rootHandle(), 'a.txt', guarded, root);
    expect(codec.decode(a.fh).epoch).toBe(3);
    await turn();
    const encode = vi.spyOn(codec, 'encode');
    // two CREATEs in one turn: the first takes the spare, the second (the number after) is minted in the call
    const dir = sfs.rootHandle();
    encode.mockClear();
    const [b, c] = await Promise.all([sfs.create(dir, 'b.txt', guarded, root), sfs.create(dir, 'c.txt', guarded, root)]);
    const ib = codec.decode(b.fh).ino;
    const ic = codec.decode(c.fh).ino;
    expect(ic).toBe(ib + 1);
    expect(encode.mock.calls.map((x) => x[1]).filter((i) => i === ib || i === ic)).toEqual([ic]);
    for (const [fh, ino] of [
      [b.fh, ib],
      [c.fh, ic],
    ] as const) {
      expect(fh.equals(new HandleCodec(SECRET).encode(9n, ino, 3))).toBe(true);
      expect(new HandleCodec(SECRET).decode(fh)).toMatchObject({ fsid: 9n, ino, epoch: 3 });
    }
  });
});
