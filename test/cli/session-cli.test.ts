// The session commands of seeds 002 and 004 on a data directory (no daemon): a project's session types,
// start with the schema's fields, use (commands given no id use the current session), exec (runs a command
// in the session's directory and records it), fail, resume, delete.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runMic } from '../lib/daemon.js';
import { makeProject, tempDir } from '../session/helpers.js';

let dir = '';
const mic = (...args: string[]) => runMic([...args, '--data-dir', dir]);
const json = async (...args: string[]) => {
  const r = await mic(...args, '--json');
  expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  dir = await tempDir('micfs-cli-schema-');
  await makeProject(dir, 'myorg/myapp', { 'README.md': 'x\n' });
});

describe.sequential('mic session: schema and lifecycle', () => {
  it('types, start --type, use, exec, fail, resume, delete', async () => {
    const types = await json('session', 'types', '--project', 'myorg/myapp', '--set', 'general,spike', '--agents', 'claude_code,robot');
    expect(types).toEqual({ session_types: ['general', 'spike'], agents: ['claude_code', 'robot'] });
    const bad = await mic('session', 'start', 'x', '--project', 'myorg/myapp', '--type', 'feature');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a session type of this project/);

    const s = (
      await json(
        'session',
        'start',
        'try it',
        '--project',
        'myorg/myapp',
        '--type',
        'spike',
        '--agent',
        'robot',
        '--state',
        '{"step":1}',
        '--external-conversation-id',
        'conv-9',
        '--component',
        'api',
        '--use',
      )
    ).session;
    expect(s).toMatchObject({ type: 'spike', agent: 'robot', state: { step: 1 }, external_conversation_id: 'conv-9', component_id: 'api' });
    expect((await json('session', 'use')).session_id).toBe(s.session_id);

    // exec in a directory (--dir; a mounted session's directory is found from mic mount's record)
    const work = await tempDir('micfs-exec-');
    await mkdir(join(work, 'sub'));
    // --data-dir before --: everything after it is the command
    const ran = await runMic(['session', 'exec', '--data-dir', dir, '--dir', work, '--', 'sh', '-c', 'ls; echo oops >&2; exit 3']);
    expect(ran.code).toBe(3);
    expect(ran.stdout).toMatch(/sub/);
    const shown = (await json('session', 'show')).session; // no id: the current session
    expect(shown.session_id).toBe(s.session_id);
    expect(shown.interactions).toHaveLength(1);
    expect(shown.interactions[0]).toMatchObject({ command: "sh -c 'ls; echo oops >&2; exit 3'", exit_status: 3, cwd: work });
    expect(shown.interactions[0].result).toMatch(/sub\n[\s\S]*oops\n/);
    const noCmd = await mic('session', 'exec', '--dir', work);
    expect(noCmd.code).toBe(1);
    expect(noCmd.stderr).toMatch(/give the command after --/);

    expect((await json('session', 'fail', '--reason', 'stuck')).session).toMatchObject({ status: 'failed', failure: { reason: 'stuck' } });
    const land = await mic('session', 'land');
    expect(land.code).not.toBe(0);
    expect(land.stderr).toMatch(/failed; resume it/);
    expect((await json('session', 'resume')).session.status).toBe('active');
    expect(await json('session', 'delete')).toMatchObject({ deleted: true, session: { status: 'abandoned' } });
    expect((await json('session', 'list', '--status', 'cancelled')).sessions.map((x: { session_id: string }) => x.session_id)).toEqual([
      s.session_id,
    ]);
  }, 60_000);
});
