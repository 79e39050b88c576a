// `mic serve --portmap`: lets clients find MOUNT and NFS without port options. Either serves PMAP v2
// itself on port 111 (TCP and UDP), or, when a system rpcbind already owns the port, registers MOUNT
// and NFS with it (and takes the registrations back on close).
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { RpcServer } from '../../rpc/server.js';
import { RpcUdpServer } from '../../rpc/udp.js';
import type { BusyPoll } from '../../rpc/busy-poll.js';
import type { RpcObserver } from '../../rpc/observer.js';
import { portmapProgram } from './program.js';
import { RPCBIND_SOCKET, rpcbSet, rpcbUnset, type RpcbEntry } from './rpcbind-client.js';
import { IPPROTO_TCP, IPPROTO_UDP, PMAP_PORT, PMAP_PROGRAM, PMAP_V2, PortTable, type Mapping } from './table.js';

export interface PortmapOptions {
  bind: string;
  /** default 111 */
  port?: number;
  /** what to announce: (prog, vers, prot, port) */
  services: Mapping[];
  log: Logger;
  observer?: RpcObserver;
  /** the daemon's busy-poll (rpc/busy-poll.ts): a lookup over UDP or TCP counts as activity */
  busyPoll?: BusyPoll;
  /** rpcbind's local socket (default /run/rpcbind.sock) */
  rpcbindSocket?: string;
}

export interface Portmapper {
  /** 'served': our own PMAP v2 listens on `port`; 'rpcbind': registered with the system's rpcbind */
  mode: 'served' | 'rpcbind';
  port: number;
  table: PortTable | null;
  close(): Promise<void>;
}

export async function startPortmapper(o: PortmapOptions): Promise<Portmapper> {
  const want = o.port ?? PMAP_PORT;
  const table = new PortTable();
  const tcp = new RpcServer({ logger: o.log, drc: false, observer: o.observer, busyPoll: o.busyPoll });
  tcp.register(portmapProgram(table));
  let port: number;
  try {
    port = await tcp.listen(want, o.bind);
  } catch (e) {
    await tcp.close();
    const code = (e as NodeJS.ErrnoException).code;
    const sock = o.rpcbindSocket ?? RPCBIND_SOCKET;
    if (code === 'EADDRINUSE' && existsSync(sock)) return registerWithRpcbind(o, sock, want);
    if (code === 'EADDRINUSE')
      throw new Error(`portmapper: port ${want} is in use and no rpcbind socket at ${sock} to register with`, { cause: e });
    if (code === 'EACCES')
      throw new Error(`portmapper: binding port ${want} needs root or CAP_NET_BIND_SERVICE (or run rpcbind and let mic register with it)`, {
        cause: e,
      });
    throw e;
  }
  const udp = new RpcUdpServer(tcp.registry, o.log, o.observer, o.busyPoll?.enabled ? o.busyPoll : undefined);
  try {
    await udp.listen(port, o.bind);
  } catch (e) {
    await tcp.close();
    throw new Error(`portmapper: UDP port ${port}: ${(e as Error).message}`, { cause: e });
  }
  table.set({ prog: PMAP_PROGRAM, vers: PMAP_V2, prot: IPPROTO_TCP, port });
  table.set({ prog: PMAP_PROGRAM, vers: PMAP_V2, prot: IPPROTO_UDP, port });
  for (const s of o.services) table.set(s);
  o.log.info({ port, bind: o.bind, services: o.services.length }, 'portmapper listening (PMAP v2, TCP and UDP)');
  return {
    mode: 'served',
    port,
    table,
    async close() {
      await Promise.all([tcp.close(), udp.close()]);
    },
  };
}

async function registerWithRpcbind(o: PortmapOptions, socket: string, port: number): Promise<Portmapper> {
  const host = o.bind === '::' ? '::' : o.bind;
  const netid = host.includes(':') ? 'tcp6' : 'tcp';
  const entries: RpcbEntry[] = o.services
    .filter((s) => s.prot === IPPROTO_TCP)
    .map((s) => ({ prog: s.prog, vers: s.vers, netid, host, port: s.port }));
  for (const e of entries) {
    await rpcbUnset(e, { socket }).catch(() => false); // a stale registration of an earlier run
    if (!(await rpcbSet(e, { socket }))) throw new Error(`rpcbind refused to register program ${e.prog} version ${e.vers} (${netid})`);
  }
  o.log.info({ socket, programs: entries.map((e) => `${e.prog}/${e.vers}`) }, 'registered MOUNT and NFS with the running rpcbind');
  return {
    mode: 'rpcbind',
    port,
    table: null,
    async close() {
      for (const e of entries) await rpcbUnset(e, { socket }).catch((err: Error) => o.log.warn({ err }, 'rpcbind unset failed'));
    },
  };
}
