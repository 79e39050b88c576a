// Seed 004's timeline and replay, over the wire: seed 000's single-shot example gives exactly its three
// file events, ordered, typed by the tree, naming their actor and the tree after them; a change made
// through the mount is one more event (typed by the tree, via "mount"), never a duplicate; replay streams
// the events as server-sent events in order (speed 10), resumes after Last-Event-ID, and says what it
// can replay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';
import { Nfs3Client, NfsStatus } from '../lib/nfs3-client.js';
import { runMic } from '../lib/daemon.js';
import { SEED_000_PROJECT, SEED_000_REQUEST } from '../lib/ui-fixtures.js';
import { readSse as readStream, type SseEvent } from '../lib/sse.js';

let t: TestDaemon;
const call = (method: string, path: string, body?: unknown) => http(t.url, method, path, body);

interface Ev {
  seq: number;
  time: string;
  type: string;
  path?: string;
  change_type?: string;
  actor?: string;
  via?: string;
  tree?: string;
}

/** Reads a server-sent event stream to its end (test/lib/sse.ts): [{event, id, data}]. */
async function readSse(path: string, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const r = await readStream(t.url + path, headers); // the server ends the stream after the last event
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/event-stream/);
  return r.events;
}

function checkOrder(tl: Ev[]): void {
  tl.forEach((e, i) => expect(e.seq).toBe(i + 1));
  for (let i = 1; i < tl.length; i++) expect(Date.parse(tl[i].time)).toBeGreaterThanOrEqual(Date.parse(tl[i - 1].time));
}

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'myorg/myapp', SEED_000_PROJECT);
});
afterAll(async () => {
  await t?.close();
});

describe.sequential('timeline and replay (seed 004)', () => {
  let timeline: Ev[] = [];

  it("seed 000's example: one event per file change, ordered, typed by the tree, with actor and tree", async () => {
    const r = await call('POST', '/api/sessions', SEED_000_REQUEST);
    expect(r.status).toBe(201);
    expect(r.body.session.changes).toEqual({ total: 3, added: 1, modified: 1, deleted: 1 });
    const tl = await call('GET', '/api/sessions/unique-id/timeline');
    timeline = tl.body.timeline;
    checkOrder(timeline);
    const files = timeline.filter((e) => e.type === 'file');
    expect(files.map((e) => [e.path, e.change_type, e.via])).toEqual([
      ['src/auth/jwt.ex', 'added', 'api'],
      ['src/main.ex', 'modified', 'api'],
      ['src/old_auth.ex', 'deleted', 'api'],
    ]);
    expect(timeline.map((e) => e.type)).toEqual([
      'started',
      'conversation',
      'conversation',
      'decision',
      'file',
      'file',
      'file',
      'status',
      'landed',
    ]);
    for (const e of files) expect(e.actor).toEqual(expect.any(String));
    // the tree after the three changes is the tree the session landed
    const landed = timeline[timeline.length - 1];
    const head = await call('GET', '/api/projects/myorg/myapp/head');
    expect(landed.tree).toBe(head.body.head.tree);
    expect(files[2].tree).toBe(head.body.head.tree);
  });

  it('a change through the mount is one event of the type the tree shows; API changes are not repeated', async () => {
    const s = (await call('POST', '/api/sessions/start', { project: 'myorg/myapp', goal: 'mixed' })).body.session;
    await call('POST', `/api/sessions/${s.session_id}/files`, { files: [{ path: 'notes.txt', change_type: 'added', content: 'a\n' }] });
    const c = await Nfs3Client.connect(t.d.port);
    try {
      const root = await c.mountRoot(s.export);
      const found = await c.lookup(root, 'README.md');
      expect(found.status).toBe(NfsStatus.OK);
      expect((await c.write(found.fh!, 0, Buffer.from('changed over NFS\n'))).status).toBe(NfsStatus.OK);
      expect((await c.create(root, 'new-over-nfs.txt')).status).toBe(NfsStatus.OK);
    } finally {
      await c.close();
    }
    // alice changes notes.txt, which the API added earlier in this session: the tree says modified; she is the actor
    expect((await call('POST', '/api/users', { name: 'alice', roles: ['write@myorg/myapp'] })).status).toBe(201);
    const tok = (await call('POST', '/api/tokens', { user: 'alice' })).body.token as string;
    const byAlice = await http(
      t.url,
      'POST',
      `/api/sessions/${s.session_id}/files`,
      { files: [{ path: 'notes.txt', change_type: 'modified', content: 'b\n' }] },
      { authorization: `Bearer ${tok}` },
    );
    expect(byAlice.status).toBe(200);
    expect((await call('POST', `/api/sessions/${s.session_id}/land`, { message: 'mixed' })).status).toBe(200);
    const tl: Ev[] = (await call('GET', `/api/sessions/${s.session_id}/timeline`)).body.timeline;
    checkOrder(tl);
    const files = tl.filter((e) => e.type === 'file').map((e) => [e.path, e.change_type, e.via]);
    expect(files).toEqual([
      ['notes.txt', 'added', 'api'],
      ['README.md', 'modified', 'mount'],
      ['new-over-nfs.txt', 'added', 'mount'],
      ['notes.txt', 'modified', 'api'],
    ]);
    const mount = tl.filter((e) => e.via === 'mount');
    for (const e of mount) expect(e.actor).toBeUndefined(); // an NFS write has no API caller
    expect(tl.filter((e) => e.type === 'file' && e.via === 'api').map((e) => e.actor)).toEqual(['admin', 'alice']);
  });

  it('replay metadata: can_replay, event count, duration', async () => {
    const r = await call('GET', '/api/sessions/unique-id/replay/metadata');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      session_id: 'unique-id',
      can_replay: true,
      event_count: timeline.length,
      file_events: 3,
      last_seq: timeline.length,
    });
    expect(r.body.duration_ms).toBe(Date.parse(timeline[timeline.length - 1].time) - Date.parse(timeline[0].time));
    expect((await call('GET', '/api/sessions/no-such/replay/metadata')).status).toBe(404);
  });

  it('replay at speed 10 streams every event in order as server-sent events, then ends', async () => {
    const frames = await readSse('/api/sessions/unique-id/replay?speed=10');
    expect(frames[0].event).toBe('metadata');
    expect(frames[0].data).toMatchObject({ can_replay: true, event_count: timeline.length, speed: 10 });
    const evs = frames.filter((f) => f.event === 'timeline');
    expect(evs.map((f) => Number(f.id))).toEqual(timeline.map((e) => e.seq));
    expect(evs.map((f) => [f.data.type, f.data.path ?? null])).toEqual(timeline.map((e) => [e.type, e.path ?? null]));
    expect(evs.filter((f) => f.data.type === 'file').map((f) => f.data.change_type)).toEqual(['added', 'modified', 'deleted']);
    // each wait is the recorded gap divided by the speed
    for (let i = 1; i < evs.length; i++)
      expect(evs[i].data.delay_ms).toBe(
        Math.round(Math.min(10_000, (Date.parse(timeline[i].time) - Date.parse(timeline[i - 1].time)) / 10)),
      );
    expect(frames[frames.length - 1]).toMatchObject({ event: 'end', data: { events: timeline.length } });
  });

  it('a reconnecting client gets only the events after its Last-Event-ID; bad speeds are refused', async () => {
    const frames = await readSse('/api/sessions/unique-id/replay?speed=1000', { 'last-event-id': '4' });
    expect(frames.filter((f) => f.event === 'timeline').map((f) => Number(f.id))).toEqual(
      timeline.filter((e) => e.seq > 4).map((e) => e.seq),
    );
    for (const bad of ['0', '-1', 'fast', '100000']) {
      const r = await call('GET', `/api/sessions/unique-id/replay?speed=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.field).toBe('speed');
    }
  });

  it('mic session replay --speed prints the events in order', async () => {
    const r = await runMic(['session', 'replay', 'unique-id', '--speed', '1000', '--json', '--data-dir', t.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    expect(lines.map((e) => e.seq)).toEqual(timeline.map((e) => e.seq));
    const meta = await runMic(['session', 'replay', 'unique-id', '--metadata', '--json', '--data-dir', t.dataDir]);
    expect(JSON.parse(meta.stdout)).toMatchObject({ can_replay: true, event_count: timeline.length });
  });
});
