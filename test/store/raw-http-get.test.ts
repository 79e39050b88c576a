// RawHttpGetter (raw-http-get.ts), the in-place body reader of S3 object GETs, against node:http servers on
// 127.0.0.1: sized bodies arrive whole and byte-exact over a kept-alive connection, chunked and to-the-close
// bodies too, an error document comes with its status, and a body cut short or a silent server fails the
// call instead of returning short bytes.
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawHttpGetter, dechunk } from '../../src/store/raw-http-get.js';

const big = randomBytes(3 * 1024 * 1024 + 17);
let server: http.Server;
let port: number;
const sockets = new Set<net.Socket>();
let connections = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': big.length });
      // in pieces, so that reads land at every offset of the body
      let at = 0;
      const more = () => {
        if (at >= big.length) return res.end();
        const n = Math.min(big.length - at, 1 + ((at * 7919) % 200_000));
        res.write(big.subarray(at, at + n));
        at += n;
        setImmediate(more);
      };
      more();
    } else if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' }); // no length: chunked
      res.write('hello, ');
      setTimeout(() => res.end('chunked world'), 20);
    } else if (req.url === '/missing') {
      res.writeHead(404, { 'content-type': 'application/xml', 'content-length': 64 });
      res.end('<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>'.padEnd(64));
    } else if (req.url === '/short') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(10));
      setTimeout(() => res.socket?.destroy(), 20);
    } else if (req.url === '/silent') {
      /* never answers */
    } else res.end('x');
  });
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

describe('RawHttpGetter', () => {
  it('reads sized bodies byte-exact, reusing one connection', async () => {
    const g = new RawHttpGetter('127.0.0.1', port);
    const before = connections;
    for (let i = 0; i < 3; i++) {
      const r = await g.get('/big', { host: 'x' }, 5000);
      expect(r.status).toBe(200);
      expect(r.body.equals(big)).toBe(true);
      expect(r.body.buffer.byteLength).toBe(big.length); // its own memory: transferable without a copy
    }
    expect(connections - before).toBe(1);
    g.close();
  });

  it('reads a chunked body, and gives an error document with its status', async () => {
    const g = new RawHttpGetter('127.0.0.1', port);
    const c = await g.get('/chunked', { host: 'x' }, 5000);
    expect(c.body.toString()).toBe('hello, chunked world');
    const m = await g.get('/missing', { host: 'x' }, 5000);
    expect(m.status).toBe(404);
    expect(m.body.toString()).toContain('<Code>NoSuchKey</Code>');
    g.close();
  });

  it('fails on a body cut short and on a server that never answers', async () => {
    const g = new RawHttpGetter('127.0.0.1', port);
    await expect(g.get('/short', { host: 'x' }, 5000)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(g.get('/silent', { host: 'x' }, 300)).rejects.toMatchObject({ code: 'TimeoutError' });
    const ok = await g.get('/', { host: 'x' }, 5000); // and goes on working
    expect(ok.body.toString()).toBe('x');
    g.close();
  });

  it('dechunk waits for the last chunk and skips trailers', () => {
    expect(dechunk(Buffer.from('5\r\nhello\r\n'))).toBeNull();
    expect(dechunk(Buffer.from('5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: 1\r\n\r\n'))!.toString()).toBe('hello world');
  });
});
