// ONC RPC over UDP (RFC 5531 §11 applies to streams only: a datagram carries exactly one message,
// no record mark). Used for small request/reply programs such as the portmapper, whose clients
// (mount.nfs, rpcinfo) often ask over UDP first. No duplicate-request cache: only idempotent use.
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { AuthSysCache } from './auth.js';
import { Dispatcher, type CallSource } from './dispatch.js';
import { inMemory } from './file-slice.js';
import type { RpcObserver } from './observer.js';
import type { ProgramRegistry } from './registry.js';
import type { BusyPoll } from './busy-poll.js';

/** Largest datagram answered; bigger calls are dropped (a UDP RPC message fits one datagram). */
const MAX_DATAGRAM = 8800;

export class RpcUdpServer {
  private readonly dispatcher: Dispatcher;
  private readonly authCache = new AuthSysCache();
  private socket: dgram.Socket | null = null;

  constructor(
    registry: ProgramRegistry,
    private readonly log: Logger,
    observer?: RpcObserver,
    /** keeps the event loop polling briefly after each datagram and reply (busy-poll.ts) */
    private readonly poll?: BusyPoll,
  ) {
    this.dispatcher = new Dispatcher(registry, null, log, observer ?? null);
  }

  /** Binds; resolves with the port. */
  listen(port: number, host: string): Promise<number> {
    const type = host.includes(':') ? 'udp6' : 'udp4';
    const sock = dgram.createSocket({ type, reuseAddr: false });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.log.error({ err }, 'rpc: udp socket error'));
        sock.on('message', (msg, rinfo) => this.onMessage(sock, msg, rinfo));
        this.socket = sock;
        resolve(sock.address().port);
      });
    });
  }

  private onMessage(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length > MAX_DATAGRAM) return;
    this.poll?.received();
    let closed = false;
    // onSent runs once the datagram is sent (or failed): a single buffer goes by reference
    const reply = (bufs: Buffer[], onSent?: () => void) => {
      if (closed) return onSent?.();
      this.poll?.idle();
      // the dispatcher frames replies for streams: drop the 4-byte record mark
      const whole = bufs.length === 1 ? bufs[0] : Buffer.concat(bufs);
      sock.send(whole.subarray(4), rinfo.port, rinfo.address, (err) => {
        if (err) this.log.debug({ err, to: rinfo.address }, 'rpc: udp reply not sent');
        onSent?.();
      });
    };
    const src: CallSource = {
      remoteAddress: rinfo.address,
      remotePort: rinfo.port,
      get closed() {
        return closed;
      },
      authCache: this.authCache,
      log: this.log,
      send: (chunks, onSent) => {
        reply(inMemory(chunks), onSent);
      },
      sendOne: (buf) => reply([buf]),
      asyncStarted: () => this.poll?.callStarted(),
      asyncFinished: () => this.poll?.callFinished(),
    };
    this.dispatcher.dispatch(msg, src, () => {
      closed = true;
    });
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
