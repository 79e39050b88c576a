// The compiled `mic` CLI end to end: without a daemon (in-process service), and with a daemon serving the
// data dir, when every command goes through its HTTP API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runMic } from '../lib/daemon.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { silent, tempDir, writeFiles } from '../session/helpers.js';

async function mic(dataDir: string, ...args: string[]) {
  const r = await runMic([...args, '--data-dir', dataDir]);
  return { ...r, json: () => JSON.parse(r.stdout) };
}

async function ok(dataDir: string, ...args: string[]) {
  const r = await mic(dataDir, ...args);
  expect(r.code, `mic ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
  return r;
}

describe('mic CLI without a daemon', () => {
  let dataDir: string;
  let src: string;

  beforeAll(async () => {
    dataDir = await tempDir('micfs-cli-');
    src = await tempDir('micfs-cli-src-');
    await writeFiles(src, { 'README.md': 'readme\n', 'lib/util.txt': 'u1\nu2\n' });
    await ok(dataDir, 'project', 'init', 'acme/cli', '--from', src);
  });

  it('start, note, land with --file, then log, show and blame', async () => {
    const started = (
      await ok(
        dataDir,
        'session',
        'start',
        '--project',
        'acme/cli',
        '--goal',
        'add a greeting',
        '--tag',
        'cli',
        '--metadata',
        'ticket=T-9',
        '--agent',
        'claude_code',
        '--execution-mode',
        'agentic',
        '--json',
      )
    ).json();
    const s = started.session;
    expect(s).toMatchObject({
      goal: 'add a greeting',
      project: 'acme/cli',
      status: 'active',
      tags: ['cli'],
      metadata: { ticket: 'T-9' },
      agent: 'claude_code',
      execution_mode: 'agentic',
    });
    const id = s.session_id as string;

    const note = (
      await ok(dataDir, 'session', 'note', id, '--decision', 'greet in English', '--reasoning', 'most readers', '--json')
    ).json();
    expect(note.session.decisions_count).toBe(1);
    expect(
      (await ok(dataDir, 'session', 'note', id, '--message', 'looks good', '--role', 'reviewer', '--json')).json().session
        .conversation_count,
    ).toBe(1);

    const work = await tempDir('micfs-cli-work-');
    await writeFiles(work, { 'hello.txt': 'hello\n', 'lib/util.txt': 'u1\nu2 changed\n' });
    const landed = (
      await ok(
        dataDir,
        'session',
        'land',
        id,
        '--from',
        work,
        '--file',
        'hello.txt:added',
        '--file',
        'lib/util.txt',
        '--file',
        'README.md:deleted',
        '-m',
        'greeting',
        '--json',
      )
    ).json();
    expect(landed.session).toMatchObject({ status: 'landed', changes: { total: 3, added: 1, modified: 1, deleted: 1 } });
    expect(landed.head).toMatchObject({ session: id, message: 'greeting' });

    const log = (await ok(dataDir, 'log', '--project', 'acme/cli', '--json')).json();
    expect(log.heads.map((h: { session: string | null }) => h.session)).toEqual([id, null]);
    const logText = (await ok(dataDir, 'log', '--project', 'acme/cli')).stdout;
    expect(logText).toContain(landed.head.hash.slice(0, 12));
    expect(logText).toContain('add a greeting');

    const show = (await ok(dataDir, 'show', landed.head.hash.slice(0, 8), '--project', 'acme/cli')).stdout;
    expect(show).toContain(`session  ${id}`);
    expect(show).toContain('goal     add a greeting');
    expect(show).toMatch(/\+ hello\.txt/);
    expect(show).toMatch(/~ lib\/util\.txt .*\(\+1 -1\)/);
    expect(show).toMatch(/- README\.md/);

    const blame = (await ok(dataDir, 'blame', 'lib/util.txt', '--project', 'acme/cli', '--json')).json();
    expect(blame).toMatchObject({ path: 'lib/util.txt', goal: 'add a greeting', head: { session: id } });
    expect((await ok(dataDir, 'blame', 'hello.txt', '--project', 'acme/cli')).stdout).toContain(`last changed by ${id}`);

    const shown = (await ok(dataDir, 'session', 'show', id)).stdout;
    expect(shown).toContain('status    landed');
    expect(shown).toContain('greet in English');
    expect(shown).toContain('because most readers');
    expect(shown).toContain('reviewer: looks good');
    const tl = (await ok(dataDir, 'session', 'log', id)).stdout;
    expect(tl).toMatch(/decision\s+decided: greet in English/);
    expect(tl).toMatch(/file\s+added hello\.txt/);
    expect(tl).toMatch(/landed\s+landed as/);

    // immutable: a second land fails with the API's body on stdout
    const again = await mic(dataDir, 'session', 'land', id, '--json');
    expect(again.code).toBe(1);
    expect(again.json()).toMatchObject({ error: 'invalid_state' });
  });

  it('list, suspend, resume, abandon, diff and a landing conflict (exit 2)', async () => {
    const a = (await ok(dataDir, 'session', 'start', '--project', 'acme/cli', '--goal', 'A', '--json')).json().session.session_id;
    const b = (await ok(dataDir, 'session', 'start', '--project', 'acme/cli', '--goal', 'B', '--json')).json().session.session_id;
    const work = await tempDir('micfs-cli-work-');
    await writeFile(join(work, 'hello.txt'), 'A says hi\n');
    await ok(dataDir, 'session', 'land', a, '--from', work, '--file', 'hello.txt:modified');
    await writeFile(join(work, 'hello.txt'), 'B says hi\n');
    const conflict = await mic(dataDir, 'session', 'land', b, '--from', work, '--file', 'hello.txt:modified', '--json');
    expect(conflict.code).toBe(2);
    expect(conflict.json()).toMatchObject({ error: 'conflict', conflicts: [{ path: 'hello.txt', kind: 'modify/modify' }] });
    const text = await mic(dataDir, 'session', 'land', b);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/modify\/modify\s+hello\.txt/);

    const diff = (await ok(dataDir, 'session', 'diff', b)).stdout;
    expect(diff).toContain('-hello');
    expect(diff).toContain('+B says hi');
    expect((await ok(dataDir, 'session', 'diff', b, '--stat')).stdout).toMatch(/~ hello\.txt/);

    const rb = (await ok(dataDir, 'session', 'rebase', b, '--json')).json();
    expect(rb.conflicts).toMatchObject([{ path: 'hello.txt', resolution: 'markers' }]);

    expect((await ok(dataDir, 'session', 'suspend', b)).stdout).toContain('suspended');
    const list = (await ok(dataDir, 'session', 'list', '--status', 'suspended', '--json')).json();
    expect(list.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([b]);
    expect((await ok(dataDir, 'session', 'resume', b)).stdout).toContain('active');
    expect((await ok(dataDir, 'session', 'abandon', b)).stdout).toContain('abandoned');
    const table = (await ok(dataDir, 'session', 'list')).stdout;
    expect(table.split('\n')[0]).toMatch(/^ID\s+STATUS\s+PROJECT\s+STARTED\s+CHANGES\s+GOAL$/);
    expect(table).toMatch(new RegExp(`${b}\\s+abandoned`));
    const missing = await mic(dataDir, 'session', 'show', 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(missing.json().error).toBe('not_found');
  });

  it('serve refuses a bad --read-wait (or MIC_READ_WAIT_MS) with a one-line reason', async () => {
    for (const [args, env] of [
      [['--read-wait', '0'], {}],
      [['--read-wait', 'soon'], {}],
      [[], { MIC_READ_WAIT_MS: '-5' }],
    ] as const) {
      const r = await runMic(['serve', '--port', '0', '--api-port', 'off', ...args, '--data-dir', dataDir], { env: { ...env } });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(/^mic: --read-wait: not a number of milliseconds from 1 to 600000: /);
    }
  });
});

describe('mic CLI with a daemon serving the data dir', () => {
  let dataDir: string;
  let d: Daemon;

  beforeAll(async () => {
    dataDir = await tempDir('micfs-cli-daemon-');
    const src = await tempDir('micfs-cli-src-');
    await writeFiles(src, { 'a.txt': 'a\n' });
    await ok(dataDir, 'project', 'init', 'acme/served', '--from', src);
    d = await startDaemon({ dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log: silent, apiPort: 0 });
  });

  afterAll(async () => {
    await d?.close();
  });

  it('goes through the API: the daemon opens the session, applies the files and lands it', async () => {
    const s = (await ok(dataDir, 'session', 'start', '--project', 'acme/served', '--goal', 'via api', '--json')).json().session;
    expect(d.exports.served(s.session_id)).toBeDefined(); // opened by the daemon, not by the CLI process
    const text = (await ok(dataDir, 'session', 'start', '--project', 'acme/served', '--goal', 'readable')).stdout;
    expect(text).toContain(`port=${d.port},mountport=${d.port}`);
    const work = await tempDir('micfs-cli-work-');
    await writeFiles(work, { 'b.txt': 'b\n' });
    const landed = (await ok(dataDir, 'session', 'land', s.session_id, '--from', work, '--file', 'b.txt:added', '--json')).json();
    expect(landed.session.status).toBe('landed');
    expect(d.exports.served(s.session_id)).toBeUndefined();
    expect((await d.service.head('acme/served')).head.session).toBe(s.session_id);
  });

  it('with a daemon that has no API, changing commands refuse and reading ones still work', async () => {
    const dir2 = await tempDir('micfs-cli-noapi-');
    const src = await tempDir('micfs-cli-src-');
    await writeFiles(src, { 'a.txt': 'a\n' });
    await ok(dir2, 'project', 'init', 'acme/noapi', '--from', src);
    const s = (await ok(dir2, 'session', 'start', '--project', 'acme/noapi', '--goal', 'before the daemon', '--json')).json().session;
    const d2 = await startDaemon({ dataDir: dir2, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log: silent, apiPort: null });
    try {
      const refused = await mic(dir2, 'session', 'land', s.session_id);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/without its HTTP API/);
      expect((await ok(dir2, 'session', 'list', '--json')).json().sessions[0].status).toBe('active');
      expect((await ok(dir2, 'log', '--project', 'acme/noapi', '--json')).json().heads).toHaveLength(1);
    } finally {
      await d2.close();
    }
  });
});
