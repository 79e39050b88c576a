// Seed 003 over real HTTP: tasks move pending -> running -> completed | failed with timestamps, plans
// are ordered steps, GET /api/sessions/:id carries the statistics, and /end lands (or abandons).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, makeProject, testDaemon, type TestDaemon } from '../session/helpers.js';

let t: TestDaemon;
const call = (method: string, path: string, body?: unknown) => http(t.url, method, path, body);

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n' });
});
afterAll(async () => {
  await t?.close();
});

describe.sequential('tasks, plans and statistics (seed 003)', () => {
  it('tracks tasks through their states and reports the statistics', async () => {
    const s = (await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'UserProfile component' })).body.session.session_id;
    const empty = (await call('GET', `/api/sessions/${s}`)).body.session.statistics;
    expect(empty).toMatchObject({
      totalTasks: 0,
      completedTasks: 0,
      failedTasks: 0,
      totalExecutionTime: 0,
      successRate: 0,
      avgExecutionTime: 0,
    });

    const plan = await call('POST', `/api/sessions/${s}/plans`, { title: 'component', steps: ['write it', { description: 'test it' }] });
    expect(plan.status).toBe(201);
    const a = (
      await call('POST', `/api/sessions/${s}/tasks`, {
        type: 'code',
        description: 'Create a new React component called UserProfile',
        plan: plan.body.plan.id,
      })
    ).body.task;
    const b = (await call('POST', `/api/sessions/${s}/tasks`, { type: 'command', description: 'npm test' })).body.task;
    const c = (await call('POST', `/api/sessions/${s}/tasks`, { type: 'git', description: 'commit' })).body.task;
    expect(a).toMatchObject({ status: 'pending', type: 'code', session_id: s, plan: plan.body.plan.id });
    expect((await call('PATCH', `/api/sessions/${s}/tasks/${a.id}`, { status: 'running' })).body.task.started_at).toMatch(/Z$/);
    await new Promise((r) => setTimeout(r, 30));
    const doneA = (await call('PATCH', `/api/sessions/${s}/tasks/${a.id}`, { status: 'completed', result: { files: ['UserProfile.tsx'] } }))
      .body.task;
    expect(doneA.execution_ms).toBeGreaterThanOrEqual(25);
    expect(doneA.result).toEqual({ files: ['UserProfile.tsx'] });
    await call('PATCH', `/api/sessions/${s}/tasks/${b.id}`, { status: 'running' });
    const failB = (await call('PATCH', `/api/sessions/${s}/tasks/${b.id}`, { status: 'failed', error: '2 tests failed' })).body.task;
    // a finished task stays finished; unknown states and fields are refused with the field named
    const again = await call('PATCH', `/api/sessions/${s}/tasks/${a.id}`, { status: 'running' });
    expect(again).toMatchObject({ status: 409, body: { error: 'invalid_transition' } });
    expect((await call('PATCH', `/api/sessions/${s}/tasks/${c.id}`, { status: 'done' })).body).toMatchObject({
      error: 'invalid_input',
      field: 'status',
    });
    expect((await call('POST', `/api/sessions/${s}/tasks`, { type: 'code', description: 'x', priority: 1 })).body).toMatchObject({
      error: 'invalid_input',
      field: 'priority',
    });
    expect(
      (await call('PATCH', `/api/sessions/${s}/plans/${plan.body.plan.id}`, { steps: [{ index: 0, status: 'completed' }] })).body.plan
        .steps[0].status,
    ).toBe('completed');

    const stats = (await call('GET', `/api/sessions/${s}`)).body.session.statistics;
    expect(stats).toMatchObject({ totalTasks: 3, completedTasks: 1, failedTasks: 1, successRate: 50 });
    expect(stats.totalExecutionTime).toBe(doneA.execution_ms + failB.execution_ms);
    expect(stats.avgExecutionTime).toBe(Math.round(stats.totalExecutionTime / 2));
    expect(stats.duration).toBeGreaterThan(0);
    const list = (await call('GET', `/api/sessions/${s}/tasks`)).body;
    expect(list.tasks.map((x: { id: string }) => x.id)).toEqual([a.id, b.id, c.id]);
    expect(list.plans).toHaveLength(1);
  });

  it('/end lands the session, or abandons it; /complete lands', async () => {
    const s1 = (await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'end by landing' })).body.session.session_id;
    await call('POST', `/api/sessions/${s1}/files`, { files: [{ path: 'one.txt', change_type: 'added', content: '1\n' }] });
    const landed = await call('POST', `/api/sessions/${s1}/end`, { commit_message: 'one' });
    expect(landed.status).toBe(200);
    expect(landed.body.session.status).toBe('landed');
    expect(landed.body.head.message).toBe('one');
    const s2 = (await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'end by abandoning' })).body.session.session_id;
    expect((await call('POST', `/api/sessions/${s2}/end`, { abandon: true })).body.session.status).toBe('abandoned');
    const s3 = (await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'complete' })).body.session.session_id;
    expect((await call('POST', `/api/sessions/${s3}/complete`)).body.session.status).toBe('landed');
    // seed 003 ends a session with a bare POST (no body, no content type): it lands
    const s4 = (await call('POST', '/api/sessions/start', { project: 'acme/app', goal: 'bare end' })).body.session.session_id;
    const bare = await fetch(`${t.url}/api/sessions/${s4}/end`, { method: 'POST' });
    expect(bare.status).toBe(200);
    expect(((await bare.json()) as { session: { status: string } }).session.status).toBe('landed');
    // the statistics of an ended session stop at its end
    const d1 = (await call('GET', `/api/sessions/${s2}`)).body.session.statistics.duration;
    await new Promise((r) => setTimeout(r, 20));
    expect((await call('GET', `/api/sessions/${s2}`)).body.session.statistics.duration).toBe(d1);
  });
});
