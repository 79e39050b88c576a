// Issue 8 item 16: root_squash / all_squash / anonuid / anongid and secure, as knfsd's
// exports(5). Before the fix every AUTH_SYS credential was taken at its word from any port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../rpc/client.js';
import { AUTH_TOOWEAK } from '../../rpc/message.js';
import { Nfs3Client, NfsStatus, authSys } from '../lib/nfs3-client.js';
import type { Daemon } from '../lib/daemon.js';
import { parseExportOptions } from '../../src/daemon/export-options.js';
import { daemonWithSession } from './wire.js';

const ROOT = authSys(0, 0);
const USER = authSys(1000, 1000, [1000]);

describe('root_squash', () => {
  let d: Daemon;
  let exportPath: string;
  beforeAll(async () => {
    ({ d, exportPath } = await daemonWithSession({ env: { MIC_EXPORT_OPTIONS: 'root_squash,anonuid=4242,anongid=4243' } }));
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('uid 0 is the anonymous user: it reads what others may read, but cannot write or chmod root-owned files', async () => {
    const c = await Nfs3Client.connect(d.port, '127.0.0.1', { auth: ROOT });
    const root = await c.mountRoot(exportPath);
    const attrs = (await c.getattr(root)).attrs!;
    expect(attrs.uid).toBe(0);
    expect(attrs.mode & 0o777).toBe(0o755);
    expect((await c.create(root, 'by-root.txt')).status).toBe(NfsStatus.ACCES);
    expect((await c.setattr(root, { mode: 0o777 })).status).toBe(NfsStatus.PERM);
    const readme = await c.lookup(root, 'README.md');
    expect(readme.status).toBe(NfsStatus.OK);
    expect(readme.attrs).toMatchObject({ uid: 0, mode: 0o644 });
    expect((await c.read(readme.fh!, 0, 100)).data!.toString()).toBe('hello\n');
    expect((await c.write(readme.fh!, 0, Buffer.from('owned'))).status).toBe(NfsStatus.ACCES);
    await c.close();
  });
});

describe('all_squash', () => {
  let d: Daemon;
  let exportPath: string;
  beforeAll(async () => {
    ({ d, exportPath } = await daemonWithSession({ env: { MIC_EXPORT_OPTIONS: 'all_squash,anonuid=0,anongid=0' } }));
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('every caller is anonuid/anongid: uid 1000 creates files owned by 0:0', async () => {
    const c = await Nfs3Client.connect(d.port, '127.0.0.1', { auth: USER });
    const root = await c.mountRoot(exportPath);
    const made = await c.create(root, 'by-user.txt', { kind: 'unchecked', attrs: { mode: 0o644 } });
    expect(made.status).toBe(NfsStatus.OK);
    expect(made.attrs).toMatchObject({ uid: 0, gid: 0 });
    await c.close();
  });
});

describe('secure', () => {
  let d: Daemon;
  let exportPath: string;
  beforeAll(async () => {
    ({ d, exportPath } = await daemonWithSession({ env: { MIC_EXPORT_OPTIONS: 'secure' } }));
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('calls from an unprivileged source port get AUTH_ERROR AUTH_TOOWEAK (NULL still answers)', async () => {
    const c = await Nfs3Client.connect(d.port);
    await expect(c.null()).resolves.toBeUndefined();
    const err = await c.mnt(exportPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ kind: 'denied', authStat: AUTH_TOOWEAK });
    await c.close();
  });

  it('calls from a privileged source port are served', async () => {
    let c: Nfs3Client | null = null;
    // a port below 1024 that nothing else on this machine holds right now
    for (let i = 0; i < 50 && c === null; i++) {
      const localPort = 600 + Math.floor(Math.random() * 400);
      c = await Nfs3Client.connect(d.port, '127.0.0.1', { localPort }).catch(() => null);
    }
    expect(c).not.toBeNull();
    const root = await c!.mountRoot(exportPath);
    expect((await c!.getattr(root)).status).toBe(NfsStatus.OK);
    await c!.close();
  });
});

describe('--export-options parsing', () => {
  it('defaults to insecure,no_root_squash with nobody as the anonymous user', () => {
    expect(parseExportOptions('')).toEqual({ secure: false, mode: 'none', anonUid: 65534, anonGid: 65534 });
    expect(parseExportOptions('secure, root_squash ,anonuid=1,anongid=2')).toEqual({ secure: true, mode: 'root', anonUid: 1, anonGid: 2 });
    expect(parseExportOptions('root_squash,all_squash').mode).toBe('all');
  });

  it('refuses unknown options and bad ids', () => {
    for (const bad of ['rw', 'anonuid=', 'anonuid=-1', 'anonuid=x', 'secure=1', 'anongid=99999999999']) {
      expect(() => parseExportOptions(bad), bad).toThrow(/^--export-options: /);
    }
  });
});
