// The MOUNT version 3 program (RFC 1813 section 5).
import type { Logger } from 'pino';
import type { Procedure, ProgramVersion } from '../../rpc/handler.js';
import type { ExportTable } from '../fs/file-system.js';
import { MOUNT_PROGRAM, MOUNT_V3, type MountDeps } from './common.js';
import { dump } from './dump.js';
import { exportProc } from './export.js';
import { mnt } from './mnt.js';
import { mountNull } from './null.js';
import { umnt } from './umnt.js';
import { umntall } from './umntall.js';

/** Procedure numbers (RFC 1813 5.2). */
export const MountProc = { NULL: 0, MNT: 1, DUMP: 2, UMNT: 3, UMNTALL: 4, EXPORT: 5 } as const;

/** MOUNT program 100005 version 3 over an export table. */
export function mountProgram(exports: ExportTable, log: Logger): ProgramVersion {
  const d: MountDeps = { exports, log };
  const procs = new Map<number, Procedure>([
    [MountProc.NULL, { name: 'NULL', handler: mountNull(), idempotent: true }],
    [MountProc.MNT, { name: 'MNT', handler: mnt(d), idempotent: true }],
    [MountProc.DUMP, { name: 'DUMP', handler: dump(d), idempotent: true }],
    [MountProc.UMNT, { name: 'UMNT', handler: umnt(d), idempotent: true }],
    [MountProc.UMNTALL, { name: 'UMNTALL', handler: umntall(d), idempotent: true }],
    [MountProc.EXPORT, { name: 'EXPORT', handler: exportProc(d), idempotent: true }],
  ]);
  return { prog: MOUNT_PROGRAM, vers: MOUNT_V3, procs };
}
