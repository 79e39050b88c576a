// ONC RPC server over TCP (RFC 5531): one port serves every registered program.
import net from 'node:net';
import type { Logger } from 'pino';
import { RpcConnection } from './connection.js';
import { Dispatcher } from './dispatch.js';
import { DuplicateRequestCache, type DrcOptions } from './drc.js';
import { DEFAULT_MAX_RECORD_SIZE, RecordMemoryBudget } from './record-marking.js';
import { ProgramRegistry } from './registry.js';
import type { RpcObserver } from './observer.js';
import type { ProgramVersion } from './handler.js';
import type { BusyPoll } from './busy-poll.js';

/**
 * What to do with a new connection, decided once from the peer's address and source port:
 * null accepts it; `close` drops it at once; `denyCalls` keeps it but answers every call
 * except NULL with AUTH_ERROR and that auth_stat (RFC 5531 §9).
 */
export type PeerVerdict = null | { close: true; reason: string } | { close: false; denyCalls: number; reason: string };

export interface RpcServerOptions {
  logger: Logger;
  /** largest record accepted; a bigger one closes the connection (default 2 MiB + 64 KiB) */
  maxRecordSize?: number;
  /** fragments per record; more close the connection (default 1024) */
  maxFragments?: number;
  /** bytes all partial records together may hold; a connection that needs more is closed (default: no limit) */
  maxRecordMemory?: number;
  /** connections open at once; more are closed at accept (default: no limit) */
  maxConnections?: number;
  /** connections open at once from one address (default: no limit) */
  maxConnectionsPerAddress?: number;
  /** close a connection with no call running and nothing buffered for this long (ms; default 0: never) */
  idleTimeoutMs?: number;
  /** close a connection whose record stays incomplete, or whose replies stay unread, this long (ms; default 0: never) */
  partialRecordTimeoutMs?: number;
  /** checked once per connection at accept (see PeerVerdict) */
  gate?: (address: string, port: number) => PeerVerdict;
  /** asynchronous calls running per connection before reading pauses (default 64) */
  maxInFlightPerConnection?: number;
  /** duplicate-request cache settings, or false to run without one */
  drc?: DrcOptions | false;
  /** told about every call (metrics) */
  observer?: RpcObserver;
  /** told when an address opens its first connection (true) and closes its last one (false) */
  onPeer?: (address: string, connected: boolean) => void;
  /** keeps the event loop polling briefly after each read and reply (busy-poll.ts); shared by every server of the process */
  busyPoll?: BusyPoll;
}

export class RpcServer {
  readonly registry = new ProgramRegistry();
  /** null when created with `drc: false` */
  readonly drc: DuplicateRequestCache | null;
  private readonly log: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly maxRecordSize: number;
  private readonly maxInFlight: number;
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<RpcConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly opts: RpcServerOptions;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly recordMemory: RecordMemoryBudget | undefined;
  /** refusals per reason since the last log line about them (see refused()) */
  private readonly refusals = new Map<string, { count: number; loggedAt: number }>();

  constructor(opts: RpcServerOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.recordMemory = opts.maxRecordMemory ? new RecordMemoryBudget(opts.maxRecordMemory) : undefined;
    this.maxRecordSize = opts.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.maxInFlight = Math.max(1, opts.maxInFlightPerConnection ?? 64);
    this.drc = opts.drc === false ? null : new DuplicateRequestCache(opts.drc ?? {});
    this.dispatcher = new Dispatcher(this.registry, this.drc, this.log, opts.observer ?? null);
  }

  register(pv: ProgramVersion): void {
    this.registry.register(pv);
  }

  /** Starts listening; resolves with the actual port (useful with port 0). May be called more than once. */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
      const onError = (err: Error): void => reject(err);
      srv.once('error', onError);
      srv.listen(port, host, () => {
        srv.off('error', onError);
        srv.on('error', (err) => this.log.error({ err }, 'rpc: listener error'));
        this.listeners.push(srv);
        this.drc?.startTimer();
        this.startSweeper();
        const addr = srv.address() as net.AddressInfo;
        this.log.info({ host: addr.address, port: addr.port, programs: this.registry.list() }, 'rpc: listening');
        resolve(addr.port);
      });
    });
  }

  /** The first listener's address, or null before listen(). */
  address(): net.AddressInfo | null {
    const a = this.listeners[0]?.address();
    return a && typeof a === 'object' ? a : null;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops every listener and closes every connection. */
  async close(): Promise<void> {
    const listeners = this.listeners.splice(0);
    const done = listeners.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve())));
    for (const c of this.connections) c.destroy();
    this.drc?.stopTimer();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await Promise.all(done);
  }

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress;
    if (address === undefined) {
      // the peer went away before we saw it
      socket.destroy();
      return;
    }
    const port = socket.remotePort ?? 0;
    const o = this.opts;
    const verdict = o.gate?.(address, port) ?? null;
    let refusal: string | null = null;
    if (verdict?.close) refusal = verdict.reason;
    else if (o.maxConnections !== undefined && this.connections.size >= o.maxConnections)
      refusal = `connection limit (${o.maxConnections}) reached`;
    else if (o.maxConnectionsPerAddress !== undefined && (this.perAddress.get(address) ?? 0) >= o.maxConnectionsPerAddress) {
      refusal = `per-address connection limit (${o.maxConnectionsPerAddress}) reached`;
    }
    if (refusal !== null) {
      socket.destroy();
      this.refused(refusal, address, port);
      return;
    }
    if (verdict && !verdict.close) this.refused(verdict.reason, address, port, 'rpc: connection kept, its calls denied');
    const had = this.perAddress.get(address) ?? 0;
    this.perAddress.set(address, had + 1);
    if (had === 0) o.onPeer?.(address, true);
    const conn = new RpcConnection(
      socket,
      this.dispatcher,
      {
        maxRecordSize: this.maxRecordSize,
        maxFragments: o.maxFragments,
        recordMemory: this.recordMemory,
        maxInFlight: this.maxInFlight,
        denyCalls: verdict && !verdict.close ? verdict.denyCalls : 0,
        poll: o.busyPoll?.enabled ? o.busyPoll : undefined,
      },
      this.log,
      (c) => {
        this.connections.delete(c);
        const n = (this.perAddress.get(c.remoteAddress) ?? 1) - 1;
        if (n > 0) this.perAddress.set(c.remoteAddress, n);
        else {
          this.perAddress.delete(c.remoteAddress);
          o.onPeer?.(c.remoteAddress, false);
        }
      },
    );
    this.connections.add(conn);
  }

  /** Logs a refused connection: the first of each reason at once, then a count at most every 10 s. */
  private refused(reason: string, address: string, port: number, msg = 'rpc: connection refused'): void {
    const now = Date.now();
    const r = this.refusals.get(reason);
    if (r === undefined || now - r.loggedAt >= 10_000) {
      this.log.warn({ client: `${address}:${port}`, reason, alsoRefused: r?.count ?? 0 }, msg);
      this.refusals.set(reason, { count: 0, loggedAt: now });
    } else r.count++;
  }

  /** Closes idle connections, and those whose record stays incomplete or replies unread (RpcServerOptions timeouts). */
  private startSweeper(): void {
    const idle = this.opts.idleTimeoutMs ?? 0;
    const partial = this.opts.partialRecordTimeoutMs ?? 0;
    if (this.sweeper || (idle <= 0 && partial <= 0)) return;
    const every = Math.max(50, Math.min(...[idle, partial].filter((t) => t > 0)) / 4);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) {
        const why = c.expired(now, idle, partial);
        if (why === null) continue;
        if (why === 'idle') c.log.info({ idleMs: now - c.lastActive }, 'rpc: idle connection closed');
        else if (why === 'partial record')
          c.log.warn(
            { sinceMs: now - c.partialSince, buffered: c.bufferedBytes },
            'rpc: record incomplete for too long, closing connection',
          );
        else c.log.warn({ inFlight: c.inFlight }, 'rpc: replies unread for too long, closing connection');
        c.destroy();
      }
    }, every);
    this.sweeper.unref();
  }
}
