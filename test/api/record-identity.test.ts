// Issue 8 item 20: a session record read under another session's key is refused, never served as that
// session (real daemon in-process, real HTTP on 127.0.0.1).
import { describe, expect, it } from 'vitest';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { http, makeProject, testDaemon } from '../session/helpers.js';

describe('Catalog.get', () => {
  it('refuses a record whose session_id differs from the key it was read under', async () => {
    let t = await testDaemon();
    try {
      await makeProject(t.dataDir, 'acme/id', { 'a.txt': 'a\n' });
      const a = (await t.api.start({ goal: 'victim', project: 'acme/id' })).session.session_id;
      const b = (await t.api.start({ goal: 'impersonator', project: 'acme/id' })).session.session_id;
      // b's record written at a's key (a bug, or anyone who can write the store)
      const store = openCatalog(t.dataDir).store('acme/id');
      const recB = await store.getJson(`sessions/${b}/metadata.json`);
      await store.putJson(`sessions/${a}/metadata.json`, recB);

      const got = await http(t.url, 'GET', `/api/sessions/${a}`);
      expect(got.status).toBe(500);
      expect(got.body.message).toMatch(new RegExp(`not the record of session ${a}.*names session "${b}"`));
      const land = await http(t.url, 'POST', `/api/sessions/${a}/land`, {});
      expect(land.status).toBe(500);
      expect((await http(t.url, 'GET', `/api/sessions/${b}`)).body.session).toMatchObject({ session_id: b, status: 'active' });
      const list = await http(t.url, 'GET', '/api/sessions');
      expect(list.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([b]);
      expect((await store.getHead())!.record.session).toBeNull(); // nothing landed

      // a restart does not trip over it
      await t.close();
      t = await testDaemon({ dataDir: t.dataDir });
      expect((await http(t.url, 'GET', `/api/sessions/${b}`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
