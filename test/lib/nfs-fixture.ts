// Shared setup for protocol tests: a server, a mounted client and fresh scratch directories.
import { expect } from 'vitest';
import { NfsStatus, Nfs3Client } from './nfs3-client.js';
import { startTestServer, type TestServer } from './server.js';

export interface Fixture {
  server: TestServer;
  client: Nfs3Client;
  root: Buffer;
  /** A new empty directory under the export root. */
  freshDir(prefix?: string): Promise<Buffer>;
  close(): Promise<void>;
}

let seq = 0;

export async function nfsFixture(): Promise<Fixture> {
  const server = await startTestServer();
  const client = await Nfs3Client.connect(server.port, server.host);
  const root = await client.mountRoot(server.exportPath);
  return {
    server,
    client,
    root,
    async freshDir(prefix = 'd') {
      const res = await client.mkdir(root, `${prefix}-${process.pid}-${++seq}`, { mode: 0o777 });
      expect(res.status).toBe(NfsStatus.OK);
      return res.fh!;
    },
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** Creates a regular file and returns its handle. */
export async function makeFile(client: Nfs3Client, dir: Buffer, name: string, content?: Buffer): Promise<Buffer> {
  const res = await client.create(dir, name, { kind: 'guarded', attrs: { mode: 0o644 } });
  expect(res.status).toBe(NfsStatus.OK);
  // the server may write less than asked (RFC 1813 3.3.7): continue from where it stopped
  for (let off = 0; content && off < content.length;) {
    const w = await client.write(res.fh!, off, content.subarray(off));
    expect(w.status).toBe(NfsStatus.OK);
    expect(w.count).toBeGreaterThan(0);
    off += w.count!;
  }
  return res.fh!;
}
