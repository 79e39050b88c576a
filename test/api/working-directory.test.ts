// Seed 003's session requests sent as the seed writes them: a session created from a working directory
// alone (the project claiming that directory), its tasks, and GET's camelCase metadata and stats beside
// ours. Over real HTTP against the daemon, and the CLI on a data directory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMic } from '../lib/daemon.js';
import { http, makeProject, tempDir, testDaemon, type TestDaemon } from '../session/helpers.js';

let t: TestDaemon;
const call = (method: string, path: string, body?: unknown) => http(t.url, method, path, body);

beforeAll(async () => {
  t = await testDaemon();
  await makeProject(t.dataDir, 'acme/app', { 'README.md': 'hello\n' });
  await makeProject(t.dataDir, 'acme/other', { 'README.md': 'other\n' });
});
afterAll(async () => {
  await t?.close();
});

describe.sequential('sessions by working directory (seed 003)', () => {
  it('creates a session from {"workingDirectory"} alone once a project claims the directory', async () => {
    const seed = { workingDirectory: '/path/to/project' };
    const before = await call('POST', '/api/sessions/start', seed);
    expect(before.status).toBe(400);
    expect(before.body).toMatchObject({ error: 'invalid_input', field: 'workingDirectory' });

    const cfg = await call('PUT', '/api/projects/acme/app/session-config', { working_directories: ['/path/to/project/'] });
    expect(cfg.status).toBe(200);
    expect(cfg.body.working_directories).toEqual(['/path/to/project']);
    // one directory, one project
    const taken = await call('PUT', '/api/projects/acme/other/session-config', { working_directories: ['/path/to/project'] });
    expect(taken.status).toBe(409);
    expect(taken.body.message).toMatch(/acme\/app/);
    for (const bad of ['relative/dir', '/a\0b', 42])
      expect((await call('PUT', '/api/projects/acme/other/session-config', { working_directories: [bad] })).body).toMatchObject({
        field: 'working_directories[0]',
      });

    const created = await call('POST', '/api/sessions/start', seed);
    expect(created.status).toBe(201);
    const id = created.body.session.session_id;
    expect(created.body.sessionId).toBe(id);
    expect(created.body.metadata).toEqual({
      sessionId: id,
      startTime: created.body.session.started_at,
      workingDirectory: '/path/to/project',
      projectPath: '/path/to/project',
      tasks: [],
      plans: [],
      totalTasks: 0,
      completedTasks: 0,
      failedTasks: 0,
      totalExecutionTime: 0,
      status: 'active',
    });
    expect(created.body.session).toMatchObject({ project: 'acme/app', goal: 'Work in /path/to/project', status: 'active' });
    expect(created.body.session.metadata).toMatchObject({ working_directory: '/path/to/project' });

    // a directory below the claimed one belongs to it; a sibling with the same prefix does not
    const sub = await call('POST', '/api/sessions/start', { workingDirectory: '/path/to/project/src/../lib', goal: 'lib work' });
    expect(sub.body.session).toMatchObject({ project: 'acme/app', goal: 'lib work' });
    expect((await call('POST', '/api/sessions/start', { workingDirectory: '/path/to/projectX' })).status).toBe(400);
    // an explicit project wins over the directory's; the two spellings must agree
    const explicit = await call('POST', '/api/sessions/start', { workingDirectory: '/path/to/project', project: 'acme/other' });
    expect(explicit.body.session.project).toBe('acme/other');
    const both = await call('POST', '/api/sessions/start', { workingDirectory: '/a', working_directory: '/b' });
    expect(both.body).toMatchObject({ field: 'working_directory' });

    // executing a task in the session, then getting its information as the seed shows it
    const task = (await call('POST', `/api/sessions/${id}/tasks`, { type: 'code', description: 'Create a new React component' })).body.task;
    await call('PATCH', `/api/sessions/${id}/tasks/${task.id}`, { status: 'running' });
    await call('PATCH', `/api/sessions/${id}/tasks/${task.id}`, { status: 'completed' });
    const got = (await call('GET', `/api/sessions/${id}`)).body;
    expect(got.metadata).toMatchObject({
      sessionId: id,
      tasks: [task.id],
      totalTasks: 1,
      completedTasks: 1,
      failedTasks: 0,
      status: 'active',
    });
    expect(got.stats).toMatchObject({ successRate: 100 });
    expect(got.stats.duration).toBeGreaterThanOrEqual(0);
    expect(got.session.session_id).toBe(id); // ours beside the seed's

    // ending it as the seed does (a bare POST): completed
    expect((await fetch(`${t.url}/api/sessions/${id}/end`, { method: 'POST' })).status).toBe(200);
    const ended = (await call('GET', `/api/sessions/${id}`)).body;
    expect(ended.metadata.status).toBe('completed');
    expect(ended.metadata.endTime).toBe(ended.session.landed_at);
    expect(ended.stats.duration).toBe(ended.session.statistics.duration); // stops at the landing

    // releasing the claim: the seed's request is refused again, and the other project may claim it
    await call('PUT', '/api/projects/acme/app/session-config', { working_directories: [] });
    expect((await call('POST', '/api/sessions/start', seed)).status).toBe(400);
    expect((await call('PUT', '/api/projects/acme/other/session-config', { working_directories: ['/path/to/project'] })).status).toBe(200);
  });

  it('mic session types --working-dir and mic session start --working-dir', async () => {
    const dir = await tempDir('micfs-cli-workdir-');
    await makeProject(dir, 'myorg/myapp', { 'README.md': 'x\n' });
    const mic = (...args: string[]) => runMic([...args, '--data-dir', dir]);
    const cfg = await mic('session', 'types', '--project', 'myorg/myapp', '--working-dir', '/work/checkouts/myapp', '--json');
    expect(cfg.code, cfg.stderr).toBe(0);
    expect(JSON.parse(cfg.stdout).working_directories).toEqual(['/work/checkouts/myapp']);
    const s = await mic('session', 'start', '--working-dir', '/work/checkouts/myapp/src', '--json');
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).session).toMatchObject({ project: 'myorg/myapp', goal: 'Work in /work/checkouts/myapp/src' });
    const none = await mic('session', 'start', 'x');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/--project|--working-dir/);
  });
});
