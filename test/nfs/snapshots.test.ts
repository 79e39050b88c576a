// Read-only snapshot exports (seed 001), at the protocol level: /exports/projects/<org>/<name>/head,
// heads/<hash> and trees/<hash> mount read-only and show that tree; every modifying procedure answers
// NFS3ERR_ROFS (RFC 1813 2.6) and changes nothing; ACCESS, FSINFO and FSSTAT say so; MOUNT EXPORT lists
// them; forged handles get BADHANDLE and well-made handles of no export STALE; handles survive a restart;
// the tree after a timeline event mounts; a suspended session refuses writes with ROFS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';
import { FileType, MountStat, Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { HandleCodec } from '../../src/fs/handles.js';
import { snapshotFsid } from '../../src/session/snapshots.js';

const P = '/exports/projects/acme/app';
let t: TestDaemon;
let c: Nfs3Client;
let firstHead = '';
let head = '';
let id = '';
const call = (method: string, path: string, body?: unknown) => http(t.url, method, path, body);

async function readFile(root: Buffer, ...names: string[]): Promise<string> {
  let fh = root;
  for (const n of names) {
    const l = await c.lookup(fh, n);
    expect(l.status, n).toBe(NfsStatus.OK);
    fh = l.fh!;
  }
  const r = await c.read(fh, 0, 65536);
  expect(r.status).toBe(NfsStatus.OK);
  return r.data!.toString('utf8');
}

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'first\n', 'src/a.txt': 'a\n' });
  firstHead = (await call('GET', '/api/projects/acme/app/head')).body.head.hash;
  const r = await call('POST', '/api/sessions', {
    project: 'acme/app',
    goal: 'second head',
    files: [
      { path: 'README.md', change_type: 'modified', content: 'second\n' },
      { path: 'src/b.txt', change_type: 'added', content: 'b\n' },
    ],
  });
  expect(r.status).toBe(201);
  id = r.body.session.session_id;
  head = (await call('GET', '/api/projects/acme/app/head')).body.head.hash;
  c = await Nfs3Client.connect(t.d.port);
});
afterAll(async () => {
  await c?.close();
  await t?.close();
});

describe.sequential('read-only snapshot exports', () => {
  it('MOUNT EXPORT lists the head of each project, by name and by hash', async () => {
    const paths = (await c.exports()).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining([`${P}/head`, `${P}/heads/${head}`]));
  });

  it('head follows the current head; heads/<hash> shows that head; a directory inside mounts too', async () => {
    expect(await readFile(await c.mountRoot(`${P}/head`), 'README.md')).toBe('second\n');
    expect(await readFile(await c.mountRoot(`${P}/heads/${head}`), 'src', 'b.txt')).toBe('b\n');
    const old = await c.mountRoot(`${P}/heads/${firstHead}`);
    expect(await readFile(old, 'README.md')).toBe('first\n');
    expect((await c.lookup(old, 'src')).status).toBe(NfsStatus.OK);
    expect((await c.readdirAll(await c.mountRoot(`${P}/heads/${firstHead}/src`))).map((e) => e.name).sort()).toEqual(['.', '..', 'a.txt']);
  });

  it('unknown heads, trees and paths are NOENT', async () => {
    for (const p of [
      `${P}/heads/${'0'.repeat(64)}`,
      `${P}/trees/${'1'.repeat(64)}`,
      `${P}/bogus`,
      `${P}/heads/xyz`,
      '/exports/projects/no/such/head',
    ])
      expect((await c.mnt(p)).status, p).toBe(MountStat.NOENT);
  });

  it('every modifying procedure answers ROFS and changes nothing', async () => {
    const root = await c.mountRoot(`${P}/head`);
    const file = (await c.lookup(root, 'README.md')).fh!;
    const src = (await c.lookup(root, 'src')).fh!;
    const results = {
      setattr: (await c.setattr(file, { mode: 0o600 })).status,
      setattrTime: (await c.setattr(file, { mtime: 'server', size: 0 })).status,
      write: (await c.write(file, 0, Buffer.from('x'))).status,
      create: (await c.create(root, 'new.txt')).status,
      createExclusive: (await c.create(root, 'ex.txt', { kind: 'exclusive', verf: Buffer.alloc(8, 1) })).status,
      mkdir: (await c.mkdir(root, 'd')).status,
      symlink: (await c.symlink(root, 'l', 'README.md')).status,
      mknod: (await c.mknod(root, 'fifo', FileType.FIFO)).status,
      remove: (await c.remove(root, 'README.md')).status,
      rmdir: (await c.rmdir(root, 'src')).status,
      rename: (await c.rename(root, 'README.md', src, 'moved')).status,
      link: (await c.link(file, root, 'hard')).status,
    };
    for (const [proc, status] of Object.entries(results)) expect(status, proc).toBe(NfsStatus.ROFS);
    expect(await readFile(root, 'README.md')).toBe('second\n');
    expect((await c.readdirAll(root)).map((e) => e.name).sort()).toEqual(['.', '..', 'README.md', 'src']);
    const attrs = (await c.getattr(file)).attrs!;
    expect(attrs.mode & 0o777).not.toBe(0o600);
  });

  it('ACCESS grants no change, FSINFO cannot set times, FSSTAT has no room; PATHCONF answers', async () => {
    const root = await c.mountRoot(`${P}/head`);
    const a = await c.access(root, 0x3f);
    expect(a.status).toBe(NfsStatus.OK);
    expect(a.access! & (4 | 8 | 16)).toBe(0);
    expect(a.access! & (1 | 2)).toBe(3);
    const fi = await c.fsinfo(root);
    expect(fi.status).toBe(NfsStatus.OK);
    expect(fi.properties! & 0x10).toBe(0); // FSF3_CANSETTIME
    expect(fi.properties! & 0x3).toBe(0x3); // links and symlinks are shown
    const st = await c.fsstat(root);
    expect([st.status, st.fbytes, st.abytes, st.afiles]).toEqual([NfsStatus.OK, 0, 0, 0]);
    expect((await c.pathconf(root)).status).toBe(NfsStatus.OK);
  });

  it('the tree after a timeline event mounts read-only', async () => {
    const tl = (await call('GET', `/api/sessions/${id}/timeline`)).body.timeline as { type: string; path?: string; tree?: string }[];
    const ev = tl.find((e) => e.type === 'file' && e.path === 'src/b.txt')!;
    const root = await c.mountRoot(`${P}/trees/${ev.tree}`);
    expect(await readFile(root, 'src', 'b.txt')).toBe('b\n');
    expect((await c.write((await c.lookup(root, 'README.md')).fh!, 0, Buffer.from('x'))).status).toBe(NfsStatus.ROFS);
  });

  it('forged handles get BADHANDLE; a well-made handle of no export STALE', async () => {
    const root = await c.mountRoot(`${P}/head`);
    const flipped = Buffer.from(root);
    flipped[flipped.length - 1] ^= 1;
    expect((await c.getattr(flipped)).status).toBe(NfsStatus.BADHANDLE);
    const otherFsid = Buffer.from(root);
    otherFsid[3] ^= 0xff; // another fsid, MAC not redone
    expect((await c.getattr(otherFsid)).status).toBe(NfsStatus.BADHANDLE);
    expect((await c.getattr(Buffer.alloc(10))).status).toBe(NfsStatus.BADHANDLE);
    // signed with the daemon's secret for a tree never mounted: no such export
    const codec = new HandleCodec(readFileSync(join(t.dataDir, 'secret')));
    expect((await c.getattr(codec.encode(snapshotFsid('acme/app', 'f'.repeat(64)), 1))).status).toBe(NfsStatus.STALE);
  });

  it('snapshot handles survive a restart', async () => {
    const root = await c.mountRoot(`${P}/heads/${firstHead}`);
    const file = (await c.lookup(root, 'README.md')).fh!;
    await c.close();
    await t.close();
    t = await testDaemon({ dataDir: t.dataDir });
    c = await Nfs3Client.connect(t.d.port);
    const r = await c.read(file, 0, 100);
    expect(r.status).toBe(NfsStatus.OK);
    expect(r.data!.toString()).toBe('first\n');
  });

  it('a suspended session refuses writes with ROFS, and takes them again once resumed', async () => {
    const s = (await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'suspend me' })).body.session;
    const root = await c.mountRoot(s.export);
    const file = (await c.lookup(root, 'README.md')).fh!;
    expect((await call('POST', `/api/sessions/${s.session_id}/suspend`)).status).toBe(200);
    expect((await c.write(file, 0, Buffer.from('x'))).status).toBe(NfsStatus.ROFS);
    expect((await c.create(root, 'n.txt')).status).toBe(NfsStatus.ROFS);
    expect((await call('POST', `/api/sessions/${s.session_id}/resume`)).status).toBe(200);
    expect((await c.write(file, 0, Buffer.from('x'))).status).toBe(NfsStatus.OK);
  });
});
