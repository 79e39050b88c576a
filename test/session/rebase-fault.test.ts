// A rebase that fails while it rebuilds the session on the new head (the store failing while the new base's
// tree nodes or the conflict blobs are read) must leave the session as it was: on its old base, with its
// changes (its old state, which a rebase replaces only once the record names the rebuilt one), and able to
// rebase again once the store answers. Driven against the in-process daemon over NFS and the API; the fault
// is the store's blob reads failing, and the first blob a rebase of a binary modify/delete conflict reads
// comes during the rebuild. Then the record's own write failing, before or after the store kept it: the
// session opens on what the stored record says, with the state that goes with it. (A crash at any point of
// a rebase: rebase-kill.test.ts.) The daemon's log says what the rebuild did: its start, its failure, its swap.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { makeProject, testDaemon, type TestDaemon } from './helpers.js';

let t: TestDaemon;
let client: Nfs3Client;
const logged: { level: number; msg: string; session?: string }[] = [];
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logged.push(JSON.parse(line));
      done();
    },
  }),
);
const rebaseLog = (id: string) => logged.filter((l) => l.session === id && l.msg.startsWith('rebase: ')).map((l) => `${l.level} ${l.msg}`);
const OLD = Buffer.from([0, 1, 2, 3, 255, 0, 9]);
const MINE = Buffer.from([0, 7, 7, 7, 254, 0, 1, 2, 3]);

beforeAll(async () => {
  t = await testDaemon({ log });
  client = await Nfs3Client.connect(t.d.port);
  await makeProject(t.dataDir, 'rbf/p', { 'README.md': 'r\n', 'bin.dat': OLD });
});

afterAll(async () => {
  await client?.close();
  await t?.close();
});

async function readFile(exp: string, name: string): Promise<Buffer | null> {
  const root = await client.mountRoot(exp);
  const l = await client.lookup(root, name);
  if (l.status === NfsStatus.NOENT) return null;
  expect(l.status).toBe(NfsStatus.OK);
  const r = await client.read(l.fh!, 0, 1 << 16);
  expect(r.status).toBe(NfsStatus.OK);
  return r.data!;
}

describe('rebase failing midway', () => {
  it('leaves the session on its old base with its changes, and a later rebase keeps them', async () => {
    const mine = (await t.api.start({ goal: 'change the binary', project: 'rbf/p' })).session;
    await t.api.files(mine.session_id, {
      files: [{ path: 'bin.dat', change_type: 'modified', content: MINE.toString('base64'), encoding: 'base64' }],
    });
    // the head deletes the file the session changed: a modify/delete conflict, whose session side rebase
    // reads from the store after it dropped the old state
    const other = (await t.api.start({ goal: 'delete the binary', project: 'rbf/p' })).session;
    await t.api.files(other.session_id, { files: [{ path: 'bin.dat', change_type: 'deleted' }] });
    await t.api.land(other.session_id, { message: 'delete bin.dat' });
    const base = (await t.api.get(mine.session_id)).session.base_head;

    const store = t.d.service.o.catalog.store('rbf/p');
    const getBlob = store.getBlob.bind(store);
    let injected = 0;
    // the merge of a binary modify/delete reads no blob: the first one read is the conflict's, after the old
    // state was dropped (the session's directory is new by then)
    store.getBlob = async () => {
      injected++;
      throw new Error('injected: the object store failed while the rebase rebuilt the session');
    };
    try {
      await expect(t.d.service.rebase(mine.session_id)).rejects.toThrow(/injected/);
    } finally {
      store.getBlob = getBlob;
    }
    expect(injected).toBeGreaterThan(0);
    expect(rebaseLog(mine.session_id)).toEqual([
      '30 rebase: rebuilding the session on the new head',
      '40 rebase: the rebuild failed; the session stays on its old base, unchanged',
    ]);

    // as it was: the old base, and the session's version of the file (reopened from its recorded tree)
    const after = (await t.api.get(mine.session_id)).session;
    expect(after.status).toBe('active');
    expect(after.base_head).toBe(base);
    expect(await readFile(after.export!, 'bin.dat')).toEqual(MINE);

    // the store answers again: the rebase goes through and keeps the session's side of the conflict
    const out = await t.api.rebase(mine.session_id);
    expect(out.rebased).toBe(true);
    expect(out.conflicts.map((c) => [c.path, c.resolution])).toEqual([['bin.dat', 'session']]);
    expect(rebaseLog(mine.session_id).slice(2)).toEqual([
      '30 rebase: rebuilding the session on the new head',
      '30 rebase: the rebuilt state is swapped in',
    ]);
    const now = (await t.api.get(mine.session_id)).session;
    expect(now.base_head).not.toBe(base);
    expect(await readFile(now.export!, 'bin.dat')).toEqual(MINE);

    // and it lands with the file
    const landed = await t.api.land(mine.session_id, { message: 'keep the binary' });
    expect(landed.session.status).toBe('landed');
    const head = (await t.d.service.head('rbf/p')).head;
    expect(head.session).toBe(mine.session_id);
  });

  // the record's write fails: written or not (a store that failed to answer after storing it), the session
  // opens next on what the stored record says, with the state that goes with it
  for (const written of [false, true])
    it(`a record write that fails ${written ? 'after' : 'before'} storing it: the state follows the stored record`, async () => {
      const mine = (await t.api.start({ goal: `record ${written}`, project: 'rbf/p' })).session;
      await t.api.files(mine.session_id, {
        files: [
          { path: `mine-${written}.txt`, change_type: 'added', content: 'mine\n' },
          { path: `both-${written}.txt`, change_type: 'added', content: 'session side\n' },
        ],
      });
      const other = (await t.api.start({ goal: 'move the head', project: 'rbf/p' })).session;
      await t.api.files(other.session_id, {
        files: [
          { path: `head-${written}.txt`, change_type: 'added', content: 'head\n' },
          { path: `both-${written}.txt`, change_type: 'added', content: 'head side\n' },
        ],
      });
      const landed = await t.api.land(other.session_id, { message: 'move' });
      const newHead = landed.session.landed_head!;
      const oldBase = (await t.api.get(mine.session_id)).session.base_head;

      const store = t.d.service.o.catalog.store('rbf/p');
      const putJson = store.putJson.bind(store);
      store.putJson = async (rel: string, v: unknown) => {
        if (rel === `sessions/${mine.session_id}/metadata.json` && (v as { base?: { head?: string } }).base?.head === newHead) {
          if (written) await putJson(rel, v);
          throw new Error('injected: the store did not answer the record write');
        }
        return putJson(rel, v);
      };
      try {
        await expect(t.d.service.rebase(mine.session_id)).rejects.toThrow(/injected/);
      } finally {
        store.putJson = putJson;
      }
      const after = (await t.api.get(mine.session_id)).session;
      expect(after.base_head).toBe(written ? newHead : oldBase);
      expect(await readFile(after.export!, `mine-${written}.txt`)).toEqual(Buffer.from('mine\n'));
      expect((await readFile(after.export!, `head-${written}.txt`))?.toString() ?? null).toBe(written ? 'head\n' : null);
      const both = (await readFile(after.export!, `both-${written}.txt`))!.toString();
      if (written) expect(both).toMatch(/^<<<<<<< session\nsession side\n=======\nhead side\n>>>>>>> head /);
      else expect(both).toBe('session side\n');

      // and a rebase now goes through (or has nothing left to do)
      const out = await t.api.rebase(mine.session_id);
      expect(out.rebased).toBe(!written);
      const now = (await t.api.get(mine.session_id)).session;
      expect(now.base_head).toBe(newHead);
      expect(await readFile(now.export!, `mine-${written}.txt`)).toEqual(Buffer.from('mine\n'));
      expect((await readFile(now.export!, `head-${written}.txt`))!.toString()).toBe('head\n');
    });
});
