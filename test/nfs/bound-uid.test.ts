// A session bound to one AUTH_SYS uid (nfs_uid): its export serves that uid and root, and answers
// NFS3ERR_ACCES to every other caller before showing anything of the session; an unbound session
// serves everyone its permission bits allow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSys, Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { http, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';

let t: TestDaemon;
let client: Nfs3Client;
const alice = { auth: authSys(1000, 1000) };
const bob = { auth: authSys(2000, 2000) };
const root = { auth: authSys(0, 0) };

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n' });
  client = await Nfs3Client.connect(t.d.port);
});
afterAll(async () => {
  await client?.close();
  await t?.close();
});

describe('a session bound to a uid', () => {
  it('serves its uid and root, and refuses everyone else', async () => {
    const s = (await http(t.url, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'alice only', nfs_uid: 1000 })).body.session;
    expect(s.nfs_uid).toBe(1000);
    const dir = await client.mountRoot(s.export);
    expect((await client.getattr(dir, bob)).status).toBe(NfsStatus.ACCES);
    expect((await client.lookup(dir, 'README.md', bob)).status).toBe(NfsStatus.ACCES);
    expect((await client.create(dir, 'bob.txt', { kind: 'unchecked', attrs: { mode: 0o644 } }, bob)).status).toBe(NfsStatus.ACCES);
    expect((await client.getattr(dir, { auth: null })).status).toBe(NfsStatus.ACCES);
    expect((await client.lookup(dir, 'README.md', alice)).status).toBe(NfsStatus.OK);
    expect((await client.getattr(dir, root)).status).toBe(NfsStatus.OK);
    expect((await client.lookup(dir, 'bob.txt', root)).status).toBe(NfsStatus.NOENT);
  });

  it('an unbound session serves any caller; a bad uid is refused naming the field', async () => {
    const s = (await http(t.url, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'anyone' })).body.session;
    expect(s.nfs_uid).toBeNull();
    const dir = await client.mountRoot(s.export);
    expect((await client.lookup(dir, 'README.md', bob)).status).toBe(NfsStatus.OK);
    const bad = await http(t.url, 'POST', '/api/sessions/start', { project: 'acme/app', goal: 'x', nfs_uid: -1 });
    expect(bad).toMatchObject({ status: 400, body: { field: 'nfs_uid' } });
  });
});
