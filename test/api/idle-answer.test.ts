// The API's idle timeout (limits.ts) closes connections nobody is using, never one whose answer the daemon
// is still working out: a landing that waits for S3 to come back answers minutes later (s3-outage.test.ts
// lost its answer: "fetch failed" after the 60 s idle timeout). node:http with the API's limits applied, on
// 127.0.0.1; the handler answers after three idle periods.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyServerLimits, DEFAULT_LIMITS } from '../../src/api/limits.js';

const IDLE_MS = 400;
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('answered'), 3 * IDLE_MS);
    else res.end('fast');
  });
  applyServerLimits(server, { ...DEFAULT_LIMITS, headersTimeoutMs: 5_000, idleTimeoutMs: IDLE_MS, keepAliveTimeoutMs: IDLE_MS });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('API idle timeout', () => {
  it('keeps a connection whose request is still being answered', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/slow`);
    expect(await r.text()).toBe('answered');
  });

  it('still closes a connection that sends nothing, and one kept alive after its answer', async () => {
    const closed = (s: net.Socket) => new Promise<boolean>((r) => s.once('close', () => r(true)));
    const silent = net.connect(port, '127.0.0.1');
    expect(await closed(silent)).toBe(true);
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (b) => (got += b.toString()));
    s.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await closed(s)).toBe(true);
    expect(got).toMatch(/^HTTP\/1\.1 200[\s\S]*fast$/);
  });
});
