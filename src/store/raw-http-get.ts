// HTTP/1.1 GETs over kept-alive TCP connections whose response bodies the kernel reads straight into the
// buffer they end up in (net.connect's onread: a buffer chosen before every read), for plain-http object
// stores (radosgw, MinIO on a private network). Node's http client reads each 64 KiB into a fresh Buffer,
// which the caller then copies: per MiB of object, 16 allocations the GC has to reclaim and a copy. Here a
// body of Content-Length bytes costs one allocation and no copy. Bodies without a length (chunked, or up to
// the close) are read through a scratch buffer. Requests are never pipelined: one in flight per connection.
// RFC 9112: status line and header fields (section 2-5), message body length (section 6.3), chunked
// transfer coding (section 7.1), persistence (section 9.3).
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** header fields, lowercase names */
  headers: Map<string, string>;
  body: Buffer;
}

const SCRATCH = 64 * 1024;
/** Header block at most this long (radosgw sends well under 2 KiB). */
const MAX_HEAD = 64 * 1024;
/** Bodies without a Content-Length at most this long (error documents). */
const MAX_UNSIZED = 16 * 1024 * 1024;

const fail = (message: string, code: string) => Object.assign(new Error(message), { code });

interface Exchange {
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
}

/** One connection; runs one exchange at a time. */
class Conn {
  readonly socket: net.Socket;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH);
  private x: Exchange | null = null;
  // the response being read
  private head: Buffer[] = [];
  private headLen = 0;
  private status = 0;
  private headers = new Map<string, string>();
  private body: Buffer | null = null; // sized body, read in place
  private got = 0;
  private raw: Buffer[] = []; // unsized body (chunked or to the close), as received
  private rawLen = 0;
  private mode: 'head' | 'sized' | 'chunked' | 'close' = 'head';
  reusable = true;

  constructor(host: string, port: number, onIdleClose: (c: Conn) => void) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => this.next(),
        callback: (n: number, buf: Uint8Array) => {
          this.onRead(n, buf);
          return true;
        },
      },
    });
    this.socket.on('error', (e) => this.end(e));
    this.socket.on('end', () => this.end(fail('connection closed by the server', 'ECONNRESET')));
    this.socket.on('close', () => {
      this.reusable = false;
      this.end(fail('connection closed', 'ECONNRESET'));
      onIdleClose(this);
    });
    this.socket.on('timeout', () => this.socket.destroy(fail('no answer in time', 'TimeoutError')));
  }

  send(request: string, timeoutMs: number): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      this.x = { resolve, reject };
      this.head = [];
      this.headLen = 0;
      this.headers = new Map();
      this.body = null;
      this.got = 0;
      this.raw = [];
      this.rawLen = 0;
      this.mode = 'head';
      this.socket.setTimeout(timeoutMs);
      this.socket.write(request);
    });
  }

  /** Where the next read goes: the rest of a sized body, else the scratch buffer. */
  private next(): Uint8Array {
    return this.mode === 'sized' && this.body && this.got < this.body.length ? this.body.subarray(this.got) : this.scratch;
  }

  private onRead(n: number, buf: Uint8Array): void {
    if (!this.x) {
      this.reusable = false; // bytes nobody asked for
      this.socket.destroy();
      return;
    }
    if (this.mode === 'sized') {
      this.got += n; // read in place
      if (this.got === this.body!.length) this.done();
      return;
    }
    const data = Buffer.from(buf.buffer, buf.byteOffset, n);
    if (this.mode === 'head')
      this.onHead(Buffer.from(data)); // copied: the scratch is read into again
    else this.onRaw(Buffer.from(data));
  }

  private onHead(data: Buffer): void {
    this.head.push(data);
    this.headLen += data.length;
    const all = this.head.length === 1 ? data : Buffer.concat(this.head, this.headLen);
    this.head = [all];
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.headLen > MAX_HEAD) this.abort(fail('response header block too long', 'EPROTO'));
      return;
    }
    const lines = all.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) return this.abort(fail(`not an HTTP/1.1 response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`, 'EPROTO'));
    this.status = Number(m[1]);
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) this.headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    if (this.status >= 100 && this.status < 200) {
      // an interim response (RFC 9110 15.2): the final one follows
      this.head = [];
      this.headLen = 0;
      this.headers = new Map();
      if (all.length > end + 4) this.onHead(all.subarray(end + 4));
      return;
    }
    if (/close/i.test(this.headers.get('connection') ?? '')) this.reusable = false;
    const rest = all.subarray(end + 4);
    const te = this.headers.get('transfer-encoding');
    const cl = this.headers.get('content-length');
    if (te !== undefined && /chunked\s*$/i.test(te)) {
      this.mode = 'chunked';
      this.onRaw(rest);
    } else if (cl !== undefined && /^\d+$/.test(cl)) {
      const len = Number(cl);
      if (!Number.isSafeInteger(len)) return this.abort(fail('Content-Length too large', 'EPROTO'));
      this.mode = 'sized';
      this.body = Buffer.allocUnsafeSlow(len); // its own memory: transferable to another thread
      this.got = rest.copy(this.body, 0, 0, Math.min(rest.length, len));
      if (rest.length > len) this.reusable = false;
      if (this.got === len) this.done();
    } else {
      this.mode = 'close';
      this.reusable = false;
      this.onRaw(rest);
    }
  }

  private onRaw(data: Buffer): void {
    if (data.length) {
      this.raw.push(data);
      this.rawLen += data.length;
    }
    if (this.rawLen > MAX_UNSIZED) return this.abort(fail('response body without a length is too long', 'EPROTO'));
    if (this.mode === 'chunked') {
      const body = dechunk(Buffer.concat(this.raw, this.rawLen));
      if (body) {
        this.body = body;
        this.done();
      }
    }
  }

  private done(): void {
    const x = this.x!;
    this.x = null;
    this.mode = 'head';
    this.socket.setTimeout(0);
    x.resolve({ status: this.status, headers: this.headers, body: this.body ?? Buffer.concat(this.raw, this.rawLen) });
  }

  private abort(e: Error): void {
    this.reusable = false;
    this.socket.destroy();
    this.end(e);
  }

  /** The connection ended: a body read to the close is complete, anything else in progress failed. */
  private end(e: Error): void {
    const x = this.x;
    if (!x) return;
    this.reusable = false;
    if (this.mode === 'close' && (e as { code?: string }).code === 'ECONNRESET' && !this.socket.errored) {
      this.done();
      return;
    }
    this.x = null;
    x.reject(e);
  }
}

/** The body of a complete chunked message, or null while it is incomplete (RFC 9112 7.1; trailers skipped). */
export function dechunk(b: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(b.toString('latin1', at, eol).split(';')[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw fail('bad chunk size', 'EPROTO');
    at = eol + 2;
    if (size === 0) {
      // trailer section, ended by an empty line
      for (;;) {
        const e = b.indexOf('\r\n', at);
        if (e < 0) return null;
        if (e === at) return Buffer.concat(parts);
        at = e + 2;
      }
    }
    if (b.length < at + size + 2) return null;
    parts.push(b.subarray(at, at + size));
    at += size + 2;
  }
}

/** GETs to one host:port over a few kept-alive connections. */
export class RawHttpGetter {
  private readonly idle: Conn[] = [];
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxIdle = 64,
  ) {}

  async get(path: string, headers: Record<string, string>, timeoutMs: number): Promise<RawResponse> {
    if (this.closed) throw fail('closed', 'ECONNRESET');
    const conn = this.idle.pop() ?? new Conn(this.host, this.port, (c) => this.forget(c));
    let head = `GET ${path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    const r = await conn.send(`${head}\r\n`, timeoutMs).catch((e: Error) => {
      conn.socket.destroy();
      throw e;
    });
    if (conn.reusable && !this.closed && this.idle.length < this.maxIdle) this.idle.push(conn);
    else conn.socket.destroy();
    return r;
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }

  private forget(c: Conn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }
}
