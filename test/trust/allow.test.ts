// Issue 8 item 14: --allow gates every call, not only MNT. Before the fix a handle obtained
// (or remembered) elsewhere kept full access from a disallowed address, EXPORT and DUMP listed
// every session to anyone, and "10.0.0.0/" parsed as /0 and allowed every address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClosedError } from '../../rpc/client.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { runMic, type Daemon } from '../lib/daemon.js';
import { daemonWithSession, mountFrom, rawConnect, closedWithin, waitForLog } from './wire.js';

let d: Daemon;
let exportPath: string;
beforeAll(async () => {
  ({ d, exportPath } = await daemonWithSession({ env: { MIC_ALLOW: '127.0.0.1/32' } }));
});
afterAll(async () => {
  await d?.stop();
});

describe('--allow on every call', () => {
  it('a handle obtained by an allowed client is refused from a disallowed address', async () => {
    const { c, root } = await mountFrom(d.port, exportPath, '127.0.0.1');
    expect((await c.getattr(root)).status).toBe(NfsStatus.OK);
    const other = await Nfs3Client.connect(d.port, '127.0.0.1', { localAddress: '127.0.0.2' });
    await expect(other.getattr(root)).rejects.toBeInstanceOf(RpcClosedError);
    await expect(other.lookup(root, 'README.md')).rejects.toBeInstanceOf(RpcClosedError);
    const lines = await waitForLog(d, (l) => l.msg === 'rpc: connection refused' && l.reason === 'address not in --allow');
    expect(String(lines[0].client)).toMatch(/^127\.0\.0\.2:/);
    await c.close();
  });

  it('EXPORT and DUMP tell a disallowed caller nothing', async () => {
    const { c } = await mountFrom(d.port, exportPath, '127.0.0.1');
    expect((await c.exports()).map((e) => e.path)).toContain(exportPath);
    for (const call of [(x: Nfs3Client) => x.exports(), (x: Nfs3Client) => x.dump()]) {
      const other = await Nfs3Client.connect(d.port, '127.0.0.1', { localAddress: '127.0.0.3' });
      await expect(call(other)).rejects.toBeInstanceOf(RpcClosedError);
    }
    await c.close();
  });

  it('a disallowed connection is closed at accept, before it sends anything', async () => {
    const s = await rawConnect(d.port, '127.0.0.4');
    expect(await closedWithin(s, 2000)).toBe(true);
  });
});

describe('--allow parsing', () => {
  for (const bad of ['10.0.0.0/', '10.0.0.0/33', '10.0.0.0/8/8', '10.0.0/8', 'example.com', '::1/129', '10.0.0.0/-1']) {
    it(`refuses "${bad}" at start with a clear error`, async () => {
      const r = await runMic(['serve', '--allow', bad, '--port', '0', '--api-port', 'off', '--data-dir', d.dataDir], { timeoutMs: 10_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^mic: --allow: (bad prefix length|not an address)/m);
      expect(r.stderr).toContain(bad);
    });
  }
});
