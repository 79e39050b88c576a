// ONC RPC server over TCP (RFC 5531): one port serves every registered program.
import net from 'node:net';
import type { Logger } from 'pino';
import { RpcConnection } from './connection.js';
import { Dispatcher } from './dispatch.js';
import { DuplicateRequestCache, type DrcOptions } from './drc.js';
import { DEFAULT_MAX_RECORD_SIZE } from './record.js';
import { ProgramRegistry } from './registry.js';
import type { RpcObserver } from './observer.js';
import type { ProgramVersion } from './types.js';

export interface RpcServerOptions {
  logger: Logger;
  /** largest record accepted; a bigger one closes the connection (default 2 MiB + 64 KiB) */
  maxRecordSize?: number;
  /** asynchronous calls running per connection before reading pauses (default 64) */
  maxInFlightPerConnection?: number;
  /** duplicate-request cache settings, or false to run without one */
  drc?: DrcOptions | false;
  /** told about every call (metrics) */
  observer?: RpcObserver;
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

  constructor(opts: RpcServerOptions) {
    this.log = opts.logger;
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
      const srv = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
      const onError = (err: Error): void => reject(err);
      srv.once('error', onError);
      srv.listen(port, host, () => {
        srv.off('error', onError);
        srv.on('error', (err) => this.log.error({ err }, 'rpc: listener error'));
        this.listeners.push(srv);
        this.drc?.startTimer();
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
    await Promise.all(done);
  }

  private accept(socket: net.Socket): void {
    if (socket.remoteAddress === undefined) {
      // the peer went away before we saw it
      socket.destroy();
      return;
    }
    const conn = new RpcConnection(
      socket,
      this.dispatcher,
      { maxRecordSize: this.maxRecordSize, maxInFlight: this.maxInFlight },
      this.log,
      (c) => this.connections.delete(c),
    );
    this.connections.add(conn);
  }
}
