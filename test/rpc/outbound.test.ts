// OutboundQueue on a real loopback TCP connection: when it reports the socket blocked (flow control then stops
// reading calls until 'drain'), and that every byte of large and small replies arrives in order.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboundQueue } from '../../rpc/outbound.js';

interface Pair {
  server: net.Socket;
  client: net.Socket;
  close(): Promise<void>;
}

async function pair(): Promise<Pair> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  const server = await accepted;
  server.setNoDelay(true);
  return {
    server,
    client,
    close: async () => {
      client.destroy();
      server.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

let p: Pair | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/** A reply as the dispatcher queues it: a small header and a large chunk of data going by reference. */
function reply(i: number, size: number): Buffer[] {
  const head = Buffer.alloc(40, 0);
  head.writeUInt32BE(i, 0);
  return [head, Buffer.alloc(size, i & 0xff)];
}

describe('OutboundQueue', () => {
  it('does not report a socket blocked when the kernel took a large reply whole (reading calls goes on)', async () => {
    p = await pair();
    const { server, client } = p;
    let received = 0;
    client.on('data', (d: Buffer) => (received += d.length));
    let blocked = 0;
    const q = new OutboundQueue(server, () => blocked++);
    let whole = 0;
    let sent = 0;
    for (let i = 0; i < 40; i++) {
      const want = received + 40 + 256 * 1024;
      q.pushAll(reply(i, 256 * 1024), () => sent++);
      const blockedBefore = blocked;
      q.flush(); // what the queued nextTick would do
      if (server.writableLength === 0) {
        // all of it went into the kernel at once: nothing waits in the socket's buffer, so not blocked
        whole++;
        expect(blocked).toBe(blockedBefore);
      }
      while (received < want) await new Promise((r) => setImmediate(r));
    }
    // loopback with a reading peer takes 256 KiB at once nearly always; the check above must have run
    expect(whole).toBeGreaterThan(0);
    expect(sent).toBe(40);
  });

  it('reports blocked while replies wait for a peer that does not read, and every byte arrives in order after', async () => {
    p = await pair();
    const { server, client } = p;
    client.pause();
    let blocked = 0;
    const q = new OutboundQueue(server, () => blocked++);
    const n = 64;
    const size = 512 * 1024;
    let pushed = 0;
    while (pushed < n && blocked === 0) {
      q.pushAll(reply(pushed++, size));
      q.flush();
    }
    expect(blocked).toBe(1);
    expect(server.writableLength).toBeGreaterThanOrEqual(server.writableHighWaterMark);
    const drained = new Promise<void>((r) => server.once('drain', () => r()));
    const chunks: Buffer[] = [];
    let got = 0;
    const all = new Promise<void>((r) =>
      client.on('data', (d: Buffer) => {
        chunks.push(d);
        if ((got += d.length) === pushed * (40 + size)) r();
      }),
    );
    client.resume();
    await drained;
    await all;
    const bytes = Buffer.concat(chunks, got);
    for (let i = 0; i < pushed; i++) {
      const at = i * (40 + size);
      expect(bytes.readUInt32BE(at)).toBe(i);
      expect(bytes.subarray(at + 40, at + 40 + size).every((b) => b === (i & 0xff))).toBe(true);
    }
  });
});
