// The NFS version 3 program (RFC 1813 section 3): procedure number → handler.
import type { Logger } from 'pino';
import type { Handler, Procedure, ProgramVersion } from '../../rpc/handler.js';
import type { ExportTable } from '../fs/file-system.js';
import { access } from './access.js';
import { commit } from './commit.js';
import { NFS_PROGRAM, NFS_V3, type NfsDeps } from './common.js';
import { create } from './create.js';
import { fsinfo } from './fsinfo.js';
import { fsstat } from './fsstat.js';
import { getattr } from './getattr.js';
import { link } from './link.js';
import { lookup } from './lookup.js';
import { mkdir } from './mkdir.js';
import { mknod } from './mknod.js';
import { nullProc } from './null.js';
import { pathconf } from './pathconf.js';
import { read } from './read.js';
import { readdir } from './readdir.js';
import { readdirplus } from './readdirplus.js';
import { readlink } from './readlink.js';
import { remove, rmdir } from './remove.js';
import { rename } from './rename.js';

import { setattr } from './setattr.js';
import { symlink } from './symlink.js';
import { write } from './write.js';
import { squasher, type Squash } from './squash.js';

/** Procedure numbers (RFC 1813 section 3.3). */
export const NfsProc = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

type Factory = (d: NfsDeps) => Handler;

// [number, name, factory, idempotent]: non-idempotent replies go to the duplicate-request cache
const TABLE: [number, string, Factory, boolean][] = [
  [NfsProc.NULL, 'NULL', nullProc, true],
  [NfsProc.GETATTR, 'GETATTR', getattr, true],
  [NfsProc.SETATTR, 'SETATTR', setattr, false],
  [NfsProc.LOOKUP, 'LOOKUP', lookup, true],
  [NfsProc.ACCESS, 'ACCESS', access, true],
  [NfsProc.READLINK, 'READLINK', readlink, true],
  [NfsProc.READ, 'READ', read, true],
  [NfsProc.WRITE, 'WRITE', write, true],
  [NfsProc.CREATE, 'CREATE', create, false],
  [NfsProc.MKDIR, 'MKDIR', mkdir, false],
  [NfsProc.SYMLINK, 'SYMLINK', symlink, false],
  [NfsProc.MKNOD, 'MKNOD', mknod, false],
  [NfsProc.REMOVE, 'REMOVE', remove, false],
  [NfsProc.RMDIR, 'RMDIR', rmdir, false],
  [NfsProc.RENAME, 'RENAME', rename, false],
  [NfsProc.LINK, 'LINK', link, false],
  [NfsProc.READDIR, 'READDIR', readdir, true],
  [NfsProc.READDIRPLUS, 'READDIRPLUS', readdirplus, true],
  [NfsProc.FSSTAT, 'FSSTAT', fsstat, true],
  [NfsProc.FSINFO, 'FSINFO', fsinfo, true],
  [NfsProc.PATHCONF, 'PATHCONF', pathconf, true],
  [NfsProc.COMMIT, 'COMMIT', commit, true],
];

/** NFS program 100003 version 3 over an export table; `squash` maps credentials first (see squash.ts). */
export function nfsProgram(exports: ExportTable, log: Logger, squash?: Squash): ProgramVersion {
  const deps: NfsDeps = { exports, log };
  const procs = new Map<number, Procedure>();
  const map = squash ? squasher(squash) : null;
  for (const [num, name, factory, idempotent] of TABLE) {
    const h = factory(deps);
    const handler: Handler =
      map === null
        ? h
        : (args, out, ctx) => {
            map(ctx);
            return h(args, out, ctx);
          };
    procs.set(num, { name, handler, idempotent });
  }
  return { prog: NFS_PROGRAM, vers: NFS_V3, procs };
}
