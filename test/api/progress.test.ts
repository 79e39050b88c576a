// Progress output of long CLI work: a bar on a pseudo-terminal (util-linux `script` gives the CLI a
// pty), plain lines in a pipe, nothing with --quiet; the report on stdout is the same in every case.
import { spawn } from 'node:child_process';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runMic } from '../lib/daemon.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { objectRelKey } from '../../src/store/index.js';
import { makeProject, tempDir } from '../session/helpers.js';

const ORPHANS = 40;
const ESC = '\x1b[';

/** Runs the CLI under `script`, on a pseudo-terminal; resolves with everything the terminal showed. */
function onPty(args: string[]): Promise<{ code: number; text: string }> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((res, rej) => {
    const p = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TERM: 'xterm', COLUMNS: '120' },
    });
    let text = '';
    p.stdout.on('data', (d) => {
      text += d;
    });
    p.stderr.on('data', (d) => {
      text += d;
    });
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? 1, text }));
  });
}

async function dataDirWithOrphans(): Promise<string> {
  const dir = await tempDir('micfs-progress-');
  await makeProject(dir, 'acme/prog', { 'a.txt': 'a\n' });
  const store = openCatalog(dir).store('acme/prog');
  const old = new Date(Date.now() - 2 * 86_400_000);
  for (let i = 0; i < ORPHANS; i++) {
    const h = await store.putBlob(Buffer.from(`orphan ${i}`));
    const f = join(dir, 'objects', store.key(objectRelKey('blobs', h)));
    await utimes(f, old, old);
  }
  return dir;
}

describe('progress output', () => {
  it('mic gc draws a bar on a terminal, plain lines in a pipe, nothing with --quiet', async () => {
    const tty = await onPty(['gc', '--grace', '24h', '--data-dir', await dataDirWithOrphans()]);
    expect(tty.code, tty.text).toBe(0);
    expect(tty.text).toContain(ESC); // cursor movement / line clearing of the bar
    expect(tty.text).toMatch(/gc acme\/prog: deleting unreferenced objects \[[\u2588\u2591]+\] \d+\/40/);
    expect(tty.text).toContain(`gc acme/prog: deleting unreferenced objects: ${ORPHANS}/${ORPHANS} done`);
    expect(tty.text).toMatch(/acme\/prog: .*deleted 40 /);

    const pipe = await runMic(['gc', '--grace', '24h', '--data-dir', await dataDirWithOrphans()]);
    expect(pipe.code, pipe.stderr).toBe(0);
    expect(pipe.stderr).not.toContain('\x1b');
    expect(pipe.stderr).not.toContain('\r');
    const lines = pipe.stderr.trim().split('\n');
    expect(lines).toContain(`gc acme/prog: deleting unreferenced objects: started (${ORPHANS})`);
    expect(lines).toContain(`gc acme/prog: deleting unreferenced objects: ${ORPHANS}/${ORPHANS} done`);
    expect(lines.filter((l) => /deleting unreferenced objects: \d+\/40 \(\d+%\)$/.test(l)).length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThan(20); // a line per tenth, not per object
    expect(pipe.stdout).toMatch(/acme\/prog: .*deleted 40 /);

    const quiet = await runMic(['gc', '--grace', '24h', '--quiet', '--json', '--data-dir', await dataDirWithOrphans()]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(JSON.parse(quiet.stdout).totals.deleted.objects).toBe(ORPHANS);
  }, 120_000);

  it('mic session land reports its phases in a pipe', async () => {
    const dir = await tempDir('micfs-progress-');
    await makeProject(dir, 'acme/land', { 'a.txt': 'a\n' });
    const id = JSON.parse((await runMic(['session', 'start', '--project', 'acme/land', '--goal', 'g', '--json', '--data-dir', dir])).stdout)
      .session.session_id as string;
    const r = await runMic(['session', 'land', id, '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n')).toEqual([`land ${id}: sealing: started`, `land ${id}: sealing: done`, '']);
    expect(r.stdout).toMatch(new RegExp(`^landed ${id} as `));
  }, 120_000);

  it('mic session handoff reports its phases in a pipe and is silent with --quiet', async () => {
    const dir = await tempDir('micfs-progress-');
    await makeProject(dir, 'acme/hand', { 'a.txt': 'a\n' });
    const start = async () =>
      JSON.parse((await runMic(['session', 'start', '--project', 'acme/hand', '--goal', 'g', '--json', '--data-dir', dir])).stdout).session
        .session_id as string;
    const id = await start();
    const r = await runMic(['session', 'handoff', id, '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n')).toEqual([`handoff ${id}: sealing: started`, `handoff ${id}: sealing: done`, '']);
    expect(r.stdout).toContain(`session ${id} handed off`);
    const id2 = await start();
    const q = await runMic(['session', 'handoff', id2, '--quiet', '--data-dir', dir]);
    expect(q.code).toBe(0);
    expect(q.stderr).toBe('');
  }, 120_000);
});
