// The daemon's log format: pino JSON lines when stdout is a pipe, one readable line per entry on a
// terminal (a pty from util-linux `script`), and --log-format overriding either way.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';

/** Starts `mic serve` (directly, or under `script` for a pty), stops it by its pid once it listens; resolves with its output. */
async function serveOutput(pty: boolean, extra: string[]): Promise<string> {
  const dir = await tempDir('micfs-logfmt-');
  const args = [CLI, 'serve', '--data-dir', dir, '--port', '0', '--api-port', 'off', ...extra];
  const child = pty
    ? spawn('script', ['-q', '-e', '-c', [process.execPath, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TERM: 'xterm' },
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const info = join(dir, 'daemon.json');
  return new Promise((res, rej) => {
    let stopped = false;
    // the daemon writes daemon.json (with its pid) once it serves
    const poll = setInterval(() => {
      if (stopped || !/listening/.test(text) || !existsSync(info)) return;
      try {
        process.kill(JSON.parse(readFileSync(info, 'utf8')).pid, 'SIGTERM');
        stopped = true;
      } catch {
        /* not written completely yet */
      }
    }, 100);
    const onData = (d: Buffer) => {
      text += d;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', rej);
    child.on('close', () => {
      clearInterval(poll);
      res(text);
    });
  });
}

const isJsonLines = (t: string) =>
  t
    .trim()
    .split(/\r?\n/)
    .every((l) => {
      try {
        return typeof JSON.parse(l).msg === 'string';
      } catch {
        return false;
      }
    });

describe('daemon log format', () => {
  it('is JSON in a pipe and readable on a terminal; --log-format overrides', async () => {
    const pipe = await serveOutput(false, []);
    expect(isJsonLines(pipe), pipe).toBe(true);
    expect(pipe).toContain('"msg":"listening"');

    const tty = await serveOutput(true, []);
    expect(isJsonLines(tty), tty).toBe(false);
    expect(tty).toMatch(/\d\d:\d\d:\d\d\.\d{3}.*INFO.*listening/);
    expect(tty).not.toContain('"msg"');

    const ttyJson = await serveOutput(true, ['--log-format', 'json']);
    expect(ttyJson.replace(/\r/g, '')).toContain('"msg":"listening"');

    const pipePretty = await serveOutput(false, ['--log-format', 'pretty']);
    expect(pipePretty).toMatch(/INFO.*listening/);
    expect(pipePretty).not.toContain('\x1b['); // no colors when not a terminal
    expect(pipePretty).not.toContain('"msg"');
  }, 120_000);
});
