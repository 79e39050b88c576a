// PMAP version 2 (RFC 1833 §3): NULL, SET, UNSET, GETPORT, DUMP. CALLIT is not offered (PROC_UNAVAIL):
// it lets anyone make the server call a program on their behalf, which rpcbind restricts as well.
// SET and UNSET change the table only for local callers (loopback address and a reserved source
// port, as rpcbind's "old style" local check); anyone else gets FALSE.
import net from 'node:net';
import type { Procedure, ProgramVersion, RpcContext } from '../../rpc/handler.js';
import type { XdrReader } from '../../rpc/xdr.js';
import { PMAP_PROGRAM, PMAP_V2, type Mapping, type PortTable } from './table.js';

export const PmapProc = { NULL: 0, SET: 1, UNSET: 2, GETPORT: 3, DUMP: 4 } as const;

function readMapping(a: XdrReader): Mapping {
  return { prog: a.u32(), vers: a.u32(), prot: a.u32(), port: a.u32() };
}

/** A loopback address with a port below 1024 (only root can bind it). */
export function isLocalCaller(ctx: Pick<RpcContext, 'remoteAddress' | 'remotePort'>): boolean {
  let a = ctx.remoteAddress;
  if (a.startsWith('::ffff:')) a = a.slice(7);
  const loopback = net.isIPv4(a) ? a.startsWith('127.') : a === '::1';
  return loopback && ctx.remotePort > 0 && ctx.remotePort < 1024;
}

export function portmapProgram(table: PortTable): ProgramVersion {
  const procs = new Map<number, Procedure>([
    [PmapProc.NULL, { name: 'NULL', idempotent: true, handler: () => {} }],
    [
      PmapProc.SET,
      {
        name: 'SET',
        idempotent: true,
        handler: (args, out, ctx) => {
          const m = readMapping(args);
          out.bool(isLocalCaller(ctx) && m.port > 0 && m.port < 65536 && table.set(m));
        },
      },
    ],
    [
      PmapProc.UNSET,
      {
        name: 'UNSET',
        idempotent: true,
        handler: (args, out, ctx) => {
          const m = readMapping(args);
          out.bool(isLocalCaller(ctx) && table.unset(m.prog, m.vers));
        },
      },
    ],
    [
      PmapProc.GETPORT,
      {
        name: 'GETPORT',
        idempotent: true,
        handler: (args, out) => {
          const m = readMapping(args);
          out.u32(table.getport(m.prog, m.vers, m.prot));
        },
      },
    ],
    [
      PmapProc.DUMP,
      {
        name: 'DUMP',
        idempotent: true,
        handler: (_args, out) => {
          // pmaplist: a linked list of optional entries (§3.1 "struct pmaplist")
          for (const m of table.list()) out.bool(true).u32(m.prog).u32(m.vers).u32(m.prot).u32(m.port);
          out.bool(false);
        },
      },
    ],
  ]);
  return { prog: PMAP_PROGRAM, vers: PMAP_V2, procs };
}
