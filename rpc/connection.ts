// One client TCP connection: record decoding (RFC 5531 §11), flow control and reply writing.
// Many calls may be in flight; replies go out as each finishes, in any order (§8: the xid
// matches replies to calls).
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AuthSysCache } from './auth.js';
import type { CallSource, Dispatcher } from './dispatch.js';
import { OutboundQueue } from './outbound.js';
import { RecordDecoder, RecordLimitError, RecordMemoryError, TooManyFragmentsError, type RecordMemoryBudget } from './record-marking.js';
import { largeBuffers } from '../util/buffer-pool.js';
import { readIntoShared } from './socket-reader.js';
import { releaseAll, type ReplyPart } from './file-slice.js';
import type { BusyPoll } from './busy-poll.js';

export interface ConnectionOptions {
  maxRecordSize: number;
  maxFragments?: number;
  /** memory shared by the partial records of all connections */
  recordMemory?: RecordMemoryBudget;
  maxInFlight: number;
  /**
   * Non-zero: every call but procedure 0 (NULL) is denied with this auth_stat. Decided once
   * at accept from the peer's address and port, which cannot change on a TCP connection.
   */
  denyCalls?: number;
  /** told of every read and every reply, to keep the loop polling briefly after them (busy-poll.ts) */
  poll?: BusyPoll;
}

export class RpcConnection implements CallSource {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly authCache = new AuthSysCache();
  readonly log: Logger;
  private isClosed = false;
  /** asynchronous calls running */
  inFlight = 0;
  private readonly decoder: RecordDecoder;
  private readonly out: OutboundQueue;
  /** records received while flow control holds dispatch back */
  private backlog: { rec: Buffer; pooled?: Buffer }[] = [];
  private writeBlocked = false;
  /** when replies stopped draining (0: they drain), for the stalled-reader check */
  private blockedSince = 0;
  private paused = false;
  /** when bytes last arrived or a call last finished (ms, Date.now) */
  lastActive = Date.now();
  /** when the record now partly received began (0: none), for the partial-record timeout */
  partialSince = 0;
  readonly denyCalls: number;

  constructor(
    readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly opts: ConnectionOptions,
    log: Logger,
    private readonly onClose: (c: RpcConnection) => void,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.log = log.child({ remote: `${this.remoteAddress}:${this.remotePort}` });
    this.denyCalls = opts.denyCalls ?? 0;
    // a socket accepted paused reads into the buffer all connections share (socket-reader.ts)
    const wasPaused = socket.isPaused();
    const shared = readIntoShared(socket, this.onData, {
      target: () => (this.closed ? null : this.decoder.inPlaceTarget()),
      done: this.onDataInPlace,
    });
    this.decoder = new RecordDecoder(this.onRecord, {
      maxRecordSize: opts.maxRecordSize,
      maxFragments: opts.maxFragments,
      pool: largeBuffers,
      budget: opts.recordMemory,
      transient: shared,
    });
    this.out = new OutboundQueue(socket, this.onWriteBlocked, this.log);
    socket.setNoDelay(true);
    if (!shared) socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
    if (this.log.isLevelEnabled('debug')) this.log.debug('rpc: connection opened');
    if (wasPaused) socket.resume();
  }

  /** True once the socket is closed or being destroyed: late replies are dropped. */
  get closed(): boolean {
    return this.isClosed || this.socket.destroyed;
  }

  send(chunks: ReplyPart[], onSent?: () => void): void {
    this.opts.poll?.idle();
    if (!this.closed) this.out.pushAll(chunks, onSent);
    else {
      releaseAll(chunks);
      onSent?.();
    }
  }

  sendOne(buf: Buffer): void {
    this.opts.poll?.idle();
    if (!this.closed) this.out.push(buf);
  }

  asyncStarted(): void {
    this.inFlight++;
    this.opts.poll?.callStarted();
    if (this.inFlight >= this.opts.maxInFlight) this.updateFlow();
  }

  asyncFinished(): void {
    this.inFlight--;
    this.opts.poll?.callFinished();
    this.lastActive = Date.now();
    if (this.backlog.length > 0) this.pump();
    else if (this.paused) this.updateFlow();
  }

  /** Closes the connection at once; replies still running are dropped when they finish. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Memory held for the record being received. */
  get bufferedBytes(): number {
    return this.decoder.bufferedBytes;
  }

  /**
   * Why the connection should be closed now, or null: idle (no call running, nothing
   * buffered) for `idleMs`, or a record begun `partialMs` ago and still incomplete while
   * reading was not held back by flow control. 0 disables either check.
   */
  expired(now: number, idleMs: number, partialMs: number): 'idle' | 'partial record' | 'replies unread' | null {
    // a peer that reads none of its replies holds them in memory: it gets the partial-record timeout too
    if (partialMs > 0 && this.blockedSince > 0 && now - this.blockedSince >= partialMs) return 'replies unread';
    if (this.paused) return null;
    if (partialMs > 0 && this.partialSince > 0 && now - this.partialSince >= partialMs) return 'partial record';
    if (idleMs > 0 && this.inFlight === 0 && this.partialSince === 0 && this.backlog.length === 0 && now - this.lastActive >= idleMs)
      return 'idle';
    return null;
  }

  private onData = (chunk: Buffer): void => this.take(chunk, 0);

  /** n bytes of a large record were read straight into its buffer (socket-reader.ts InPlace). */
  private onDataInPlace = (n: number): void => this.take(null, n);

  /** Input for the decoder: a chunk to copy from, or n bytes already in the record's buffer. */
  private take(chunk: Buffer | null, n: number): void {
    this.lastActive = Date.now();
    this.opts.poll?.received();
    try {
      if (chunk !== null) this.decoder.push(chunk);
      else this.decoder.pushInPlace(n);
      if (this.decoder.partial) {
        if (this.partialSince === 0) this.partialSince = this.lastActive;
      } else this.partialSince = 0;
    } catch (err) {
      if (err instanceof RecordLimitError) {
        const what =
          err instanceof TooManyFragmentsError
            ? 'too many fragments in a record'
            : err instanceof RecordMemoryError
              ? 'partial records over their memory budget'
              : 'record too large';
        this.log.warn({ reason: err.message }, `rpc: ${what}, closing connection`);
      } else {
        this.log.error({ err }, 'rpc: failed to process input, closing connection');
      }
      this.destroy();
    }
    this.opts.poll?.idle(); // a partial record, or calls answered at once: wait for more by polling
  }

  private onRecord = (rec: Buffer, pooled?: Buffer): void => {
    this.partialSince = 0;
    if (this.closed) {
      if (pooled) largeBuffers.give(pooled);
      return;
    }
    if (this.backlog.length > 0 || !this.canDispatch()) {
      this.backlog.push({ rec, pooled });
      this.updateFlow();
      return;
    }
    this.dispatchOne(rec, pooled);
  };

  private dispatchOne(rec: Buffer, pooled?: Buffer): void {
    try {
      this.dispatcher.dispatch(rec, this, pooled ? () => largeBuffers.give(pooled) : undefined);
    } catch (err) {
      // the dispatcher answers every expected failure itself; this is a bug, not bad input
      this.log.error({ err }, 'rpc: dispatch failed');
    }
  }

  private canDispatch(): boolean {
    return this.inFlight < this.opts.maxInFlight && !this.writeBlocked;
  }

  /** Dispatches held-back records while flow control allows, then pauses or resumes reading. */
  private pump(): void {
    while (this.backlog.length > 0 && this.canDispatch() && !this.closed) {
      const next = this.backlog.shift()!;
      this.dispatchOne(next.rec, next.pooled);
    }
    this.updateFlow();
  }

  private updateFlow(): void {
    if (this.closed) return;
    const hold = this.backlog.length > 0 || !this.canDispatch();
    if (hold && !this.paused) {
      this.paused = true;
      this.socket.pause();
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ inFlight: this.inFlight, writeBlocked: this.writeBlocked }, 'rpc: reading paused');
      }
    } else if (!hold && this.paused) {
      this.paused = false;
      // time spent held back does not count against the partial-record timeout
      if (this.partialSince > 0) this.partialSince = Date.now();
      this.socket.resume();
    }
  }

  private onWriteBlocked = (): void => {
    this.writeBlocked = true;
    if (this.blockedSince === 0) this.blockedSince = Date.now();
    this.updateFlow();
  };

  private onDrain = (): void => {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    this.blockedSince = 0;
    this.pump();
  };

  private onError = (err: Error): void => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      if (this.log.isLevelEnabled('debug')) this.log.debug({ code }, 'rpc: connection reset');
    } else {
      this.log.warn({ err }, 'rpc: socket error');
    }
  };

  private onSocketClose = (): void => {
    if (this.isClosed) return;
    this.isClosed = true;
    this.decoder.release();
    this.backlog = [];
    this.out.discard();
    if (this.log.isLevelEnabled('debug')) this.log.debug({ inFlight: this.inFlight }, 'rpc: connection closed');
    this.onClose(this);
  };
}
