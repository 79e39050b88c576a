// Issue 10, one call in flight: a READ of a session file in memory and an UNSTABLE WRITE to a local file are
// answered in the same turn as their call (the handler returns no promise, so the reply is queued before the
// dispatcher returns and the connection never counts the call as running: busy-poll's window opens at once).
// A FILE_SYNC WRITE, a CREATE and a REMOVE still answer only after their data and journal are on stable storage
// (their durability over SIGKILL: test/fs/durability.test.ts); on tmpfs the journal's write and sync come at the
// end of the call's callback, so those replies too go out before the loop turns. Real dispatcher, NFS program, SessionFs and store;
// the connection is the recording object the dispatcher writes replies to.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Dispatcher, type CallSource } from '../../rpc/dispatch.js';
import { ProgramRegistry } from '../../rpc/registry.js';
import { DuplicateRequestCache } from '../../rpc/drc.js';
import { AuthSysCache, encodeAuthSys } from '../../rpc/auth.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { nfsProgram } from '../../src/nfs/program.js';
import { LocalBackend, ObjectStore } from '../../src/store/index.js';
import { SessionFs } from '../../src/fs/session-fs.js';
import { HandleCodec } from '../../src/fs/handles.js';
import { NfsStatus, StableHow, type ExportTable, type FileHandle } from '../../src/fs/file-system.js';
import { importTree } from '../../src/session/project.js';

const log = pino({ level: 'silent' });
const NFS = 100003;
const cred = encodeAuthSys({ stamp: 1, machine: 'test', uid: 0, gid: 0, gids: [0] });

let tmp: string;
let sfs: SessionFs;
let reopen: () => Promise<SessionFs>;
const handles = new HandleCodec(Buffer.alloc(32, 3));
let dispatcher: Dispatcher;
let file: Buffer;
/** replies in the order queued, and how many calls the dispatcher reported as running meanwhile */
let replies: Buffer[];
let started: number;

const source: CallSource = {
  remoteAddress: '127.0.0.1',
  remotePort: 800,
  closed: false,
  authCache: new AuthSysCache(),
  log,
  send(chunks, onSent) {
    replies.push(Buffer.concat(chunks as Buffer[]));
    onSent?.();
  },
  sendOne(buf) {
    replies.push(buf);
  },
  asyncStarted() {
    started++;
  },
  asyncFinished() {},
};

let xid = 1;
/** Dispatches one call; returns whether its reply was queued before dispatch() returned, and a reader of the
 *  reply's results once it is there. */
async function call(proc: number, args: (w: XdrWriter) => void): Promise<{ sameTurn: boolean; r: XdrReader }> {
  const w = new XdrWriter(256);
  w.u32(xid++).u32(0).u32(2).u32(NFS).u32(3).u32(proc);
  w.u32(1).opaque(cred).u32(0).u32(0);
  args(w);
  const before = replies.length;
  dispatcher.dispatch(w.toBuffer(), source);
  const sameTurn = replies.length > before;
  for (let i = 0; i < 200 && replies.length === before; i++) await new Promise((r) => setTimeout(r, 5));
  expect(replies.length).toBe(before + 1);
  return { sameTurn, r: new XdrReader(replies[before]!, 4 + 24) };
}

const read = (off: number, count: number) => call(6, (w) => w.opaque(file).u64(BigInt(off)).u32(count));
const write = (off: number, data: Buffer, stable: StableHow) =>
  call(7, (w) => w.opaque(file).u64(BigInt(off)).u32(data.length).u32(stable).opaque(data));

/** READ3resok's data (after status, post_op_attr, count, eof). */
function readData(r: XdrReader): Buffer {
  expect(r.u32()).toBe(NfsStatus.OK);
  expect(r.bool()).toBe(true);
  r.skip(84);
  r.u32();
  r.bool();
  return r.opaque();
}

/** WRITE3resok's committed (after status, wcc_data, count). */
function committed(r: XdrReader): number {
  expect(r.u32()).toBe(NfsStatus.OK);
  if (r.bool()) r.skip(24);
  if (r.bool()) r.skip(84);
  r.u32();
  return r.u32();
}

beforeEach(async () => {
  // the data directory where the benchmarks keep it: tmpfs when there is one
  tmp = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'mic-same-turn-'));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'base.txt'), 'base file\n');
  const store = new ObjectStore(new LocalBackend(path.join(tmp, 'objects'), { fsync: false }), 'test/proj');
  const base = await importTree(store, src);
  reopen = () =>
    SessionFs.open({
      fsid: 7n,
      dir: path.join(tmp, 'session'),
      source: store,
      handles,
      base: { ...base, time: { sec: 1, nsec: 0 } },
      owner: { uid: 0, gid: 0 },
      writeVerifier: Buffer.alloc(8, 1),
      log,
    });
  sfs = await reopen();
  const exports: ExportTable = {
    mount: async () => sfs.rootHandle(),
    unmount: () => {},
    unmountAll: () => {},
    mounts: () => [],
    exports: async () => [],
    resolve: (fh: Buffer) => ({ fs: sfs, fh: fh as FileHandle }),
  };
  const registry = new ProgramRegistry();
  registry.register(nfsProgram(exports, log));
  dispatcher = new Dispatcher(registry, new DuplicateRequestCache({}), log);
  replies = [];
  started = 0;
  const root = { uid: 0, gid: 0, gids: [] };
  file = (await sfs.create(sfs.rootHandle(), 'data.bin', { kind: 'guarded', attrs: { mode: 0o644 } }, root)).fh;
  await sfs.write(file, 0, Buffer.alloc(16384, 1), StableHow.FILE_SYNC, root);
});

afterEach(() => {
  sfs.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('one call in flight: answered in the same turn', () => {
  it('a 4 KiB READ of a session file and an UNSTABLE WRITE to it: no promise, the reply queued at once', async () => {
    const r1 = await read(4096, 4096);
    expect(r1.sameTurn).toBe(true);
    expect(readData(r1.r).equals(Buffer.alloc(4096, 1))).toBe(true);
    const w = await write(8192, Buffer.alloc(4096, 9), StableHow.UNSTABLE);
    expect(w.sameTurn).toBe(true);
    expect(committed(w.r)).toBe(StableHow.UNSTABLE);
    const r2 = await read(8190, 8);
    expect(r2.sameTurn).toBe(true);
    expect([...readData(r2.r)]).toEqual([1, 1, 9, 9, 9, 9, 9, 9]);
    expect(started).toBe(0); // the dispatcher never saw a call running
  });

  it('a FILE_SYNC WRITE and a REMOVE still wait for their sync before the reply', async () => {
    const w = await write(0, Buffer.alloc(4096, 5), StableHow.FILE_SYNC);
    expect(w.sameTurn).toBe(false);
    expect(committed(w.r)).toBe(StableHow.FILE_SYNC);
    const rm = await call(12, (x) => x.opaque(sfs.rootHandle()).string('data.bin'));
    expect(rm.sameTurn).toBe(false); // (on tmpfs: before the loop turns, the next test)
    expect(rm.r.u32()).toBe(NfsStatus.OK);
    expect(started).toBe(2);
  });

  it('on tmpfs, a CREATE and a REMOVE are answered once their journal record is written and synced, before the loop turns', async () => {
    expect(execFileSync('stat', ['-f', '-c', '%T', tmp], { encoding: 'utf8' }).trim()).toBe('tmpfs');
    const early = async (proc: number, args: (w: XdrWriter) => void): Promise<XdrReader> => {
      // an immediate queued before the call: the journal's flush used to come after it (setImmediate)
      let seen = -1;
      const before = replies.length;
      setImmediate(() => (seen = replies.length - before));
      const { sameTurn, r } = await call(proc, args);
      expect(sameTurn).toBe(false); // the journal's write and sync come first
      expect(seen).toBe(1);
      return r;
    };
    const c = await early(8, (w) =>
      w.opaque(sfs.rootHandle()).string('new.txt').u32(1).u32(1).u32(0o644).u32(0).u32(0).u32(0).u32(0).u32(0),
    );
    expect(c.u32()).toBe(NfsStatus.OK);
    const rm = await early(12, (w) => w.opaque(sfs.rootHandle()).string('new.txt'));
    expect(rm.u32()).toBe(NfsStatus.OK);
    // and they are in the journal: a reopened state has the file made and removed
    sfs.close();
    const again = await reopen();
    await expect(again.lookup(again.rootHandle(), 'new.txt', { uid: 0, gid: 0, gids: [] })).rejects.toMatchObject({
      status: NfsStatus.NOENT,
    });
    expect((await again.lookup(again.rootHandle(), 'data.bin', { uid: 0, gid: 0, gids: [] })).node.attrs.size).toBe(16384);
    sfs = again;
  });

  it('an UNSTABLE WRITE that fails (a directory) is answered with its status and wcc, the session unchanged', async () => {
    file = sfs.rootHandle();
    const w = await write(0, Buffer.alloc(16, 1), StableHow.UNSTABLE);
    expect(w.r.u32()).toBe(NfsStatus.ISDIR);
  });
});
