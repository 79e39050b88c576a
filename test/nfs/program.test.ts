// The procedure tables and the procedure layer's own error handling, called directly
// (no TCP): unexpected exceptions become NFS3ERR_SERVERFAULT and are logged.
import { describe, expect, it } from 'vitest';
import type { Logger } from 'pino';
import type { RpcContext } from '../../rpc/handler.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import {
  FileType,
  FsError,
  NfsStatus,
  type Attrs,
  type DirEntry,
  type ExportTable,
  type FileHandle,
  type FileSystem,
} from '../../src/fs/file-system.js';
import { mountProgram } from '../../src/mount/program.js';
import { nfsProgram } from '../../src/nfs/program.js';

function stubLog(): { log: Logger; errors: unknown[] } {
  const errors: unknown[] = [];
  const noop = (): void => {};
  const log = { error: (o: unknown) => errors.push(o), warn: noop, info: noop, debug: noop } as unknown as Logger;
  return { log, errors };
}

const attrs: Attrs = {
  type: FileType.DIR,
  mode: 0o755,
  nlink: 2,
  uid: 0,
  gid: 0,
  size: 4096,
  used: 4096,
  rdev: [0, 0],
  fsid: 1n,
  fileid: 1,
  atime: { sec: 1, nsec: 0 },
  mtime: { sec: 1, nsec: 0 },
  ctime: { sec: 1, nsec: 0 },
};

/** A filesystem whose every method misbehaves as told. */
function exportsWith(fs: Partial<FileSystem>): ExportTable {
  const full = { tryGetattr: async () => attrs, writeVerifier: Buffer.alloc(8), ...fs } as FileSystem;
  return {
    mount: async () => Buffer.alloc(8),
    unmount: () => {},
    unmountAll: () => {},
    mounts: () => [],
    exports: async () => [],
    resolve: (fh: Buffer) => {
      if (fh.length !== 8) throw new FsError(NfsStatus.BADHANDLE);
      return { fs: full, fh: fh as FileHandle };
    },
  };
}

const ctx: RpcContext = { xid: 1, prog: 100003, vers: 3, proc: 0, flavor: 1, auth: null, remoteAddress: '127.0.0.1', remotePort: 1 };

async function call(ex: ExportTable, log: Logger, proc: number, args: XdrWriter): Promise<XdrReader> {
  const out = new XdrWriter();
  out.u32(0xdeadbeef); // stands for the RPC reply header
  await nfsProgram(ex, log).procs.get(proc)!.handler(new XdrReader(args.toBuffer()), out, ctx);
  const r = new XdrReader(out.toBuffer());
  expect(r.u32()).toBe(0xdeadbeef);
  return r;
}

describe('program tables', () => {
  it('NFS v3 has the 22 procedures; the modifying ones are non-idempotent', () => {
    const pv = nfsProgram(exportsWith({}), stubLog().log);
    expect([pv.prog, pv.vers]).toEqual([100003, 3]);
    expect([...pv.procs.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 22 }, (_, i) => i));
    const nonIdem = [...pv.procs.values()]
      .filter((p) => !p.idempotent)
      .map((p) => p.name)
      .sort();
    expect(nonIdem).toEqual(['CREATE', 'LINK', 'MKDIR', 'MKNOD', 'REMOVE', 'RENAME', 'RMDIR', 'SETATTR', 'SYMLINK']);
  });

  it('MOUNT v3 has procedures 0-5', () => {
    const pv = mountProgram(exportsWith({}), stubLog().log);
    expect([pv.prog, pv.vers]).toEqual([100005, 3]);
    expect([...pv.procs.values()].map((p) => p.name)).toEqual(['NULL', 'MNT', 'DUMP', 'UMNT', 'UMNTALL', 'EXPORT']);
  });
});

describe('unexpected failures', () => {
  it('a non-FsError throw is SERVERFAULT, logged, with the failure arm encoded', async () => {
    const { log, errors } = stubLog();
    const ex = exportsWith({
      lookup: async () => {
        throw new TypeError('boom');
      },
    });
    const r = await call(ex, log, 3, new XdrWriter().opaque(Buffer.alloc(8)).string('x'));
    expect(r.u32()).toBe(NfsStatus.SERVERFAULT);
    expect(r.bool()).toBe(true); // dir post_op_attr from tryGetattr
    r.skip(84);
    expect(r.remaining).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('an FsError is its status and is not logged as an error', async () => {
    const { log, errors } = stubLog();
    const ex = exportsWith({
      getattr: async () => {
        throw new FsError(NfsStatus.ACCES);
      },
    });
    const r = await call(ex, log, 1, new XdrWriter().opaque(Buffer.alloc(8)));
    expect(r.u32()).toBe(NfsStatus.ACCES);
    expect(r.remaining).toBe(0);
    expect(errors).toHaveLength(0);
  });

  it('a READDIR iterator failing mid-page discards the partial page', async () => {
    const { log, errors } = stubLog();
    function* entries(): Generator<DirEntry> {
      yield { name: 'a', fileid: 2, cookie: 1n, attrs: () => attrs, fh: () => Buffer.alloc(8) };
      throw new Error('disk on fire');
    }
    const ex = exportsWith({ readdir: async () => ({ dir: attrs, verf: Buffer.alloc(8), entries: entries() }) });
    const r = await call(ex, log, 16, new XdrWriter().opaque(Buffer.alloc(8)).u64(0n).fixed(Buffer.alloc(8)).u32(4096));
    expect(r.u32()).toBe(NfsStatus.SERVERFAULT);
    expect(r.bool()).toBe(true);
    r.skip(84);
    expect(r.remaining).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('READDIRPLUS omits attributes and handle of an entry that vanished', async () => {
    const { log } = stubLog();
    function* entries(): Generator<DirEntry> {
      yield {
        name: 'gone',
        fileid: 3,
        cookie: 1n,
        attrs: () => {
          throw new FsError(NfsStatus.STALE);
        },
        fh: () => {
          throw new FsError(NfsStatus.STALE);
        },
      };
    }
    const ex = exportsWith({ readdir: async () => ({ dir: attrs, verf: Buffer.alloc(8), entries: entries() }) });
    const args = new XdrWriter().opaque(Buffer.alloc(8)).u64(0n).fixed(Buffer.alloc(8)).u32(4096).u32(8192);
    const r = await call(ex, log, 17, args);
    expect(r.u32()).toBe(NfsStatus.OK);
    expect(r.bool()).toBe(true);
    r.skip(84 + 8);
    expect(r.bool()).toBe(true); // an entry
    expect(r.u64()).toBe(3n);
    expect(r.string()).toBe('gone');
    expect(r.u64()).toBe(1n);
    expect(r.bool()).toBe(false); // no attributes
    expect(r.bool()).toBe(false); // no handle
    expect(r.bool()).toBe(false); // end of list
    expect(r.bool()).toBe(true); // eof
    expect(r.remaining).toBe(0);
  });
});
