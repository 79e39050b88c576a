// `mic session exec [id] [--dir d] -- <cmd...>`: runs a command in the session's mounted directory, shows
// its output as it comes, and records it as one of the session's interactions (seed 002: command, result,
// exit status, timing). The directory: --dir, else where `mic mount` mounted it (its record, then
// /proc/mounts). The exit status is the command's.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { withBackend } from './backend.js';
import { dataDirOf, out, printJson } from './common.js';
import { sessionIdOr } from './session-current.js';
import { mountPointOf, mountRecordOf } from './mount.js';

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs argv in cwd, passing its output through; the output's last MAX_RESULT bytes are kept. */
async function run(argv: string[], cwd: string): Promise<{ code: number | null; output: string; started: number; ended: number }> {
  const { MAX_RESULT } = await import('../session/interactions.js');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (b: Buffer) => {
      chunks.push(b);
      size += b.length;
      while (size - chunks[0]!.length >= MAX_RESULT) size -= chunks.shift()!.length;
    };
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['inherit', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => (process.stdout.write(b), keep(b)));
    child.stderr.on('data', (b: Buffer) => (process.stderr.write(b), keep(b)));
    child.on('error', (e) => reject(new Error(`cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code) => {
      let all = Buffer.concat(chunks);
      if (all.length > MAX_RESULT) all = all.subarray(all.length - MAX_RESULT);
      // a cut through a multi-byte character would not survive as UTF-8: drop a broken start
      resolve({ code, output: all.toString('utf8').replace(/^\uFFFD+/, ''), started, ended: Date.now() });
    });
  });
}

export function addExecCommand(cmd: Command): void {
  cmd
    .command('exec')
    .description('run a command in the mounted session directory and record it as an interaction: mic session exec [id] -- <cmd...>')
    .argument('[words...]', 'the session id (default: the current one), then -- and the command')
    .option('--dir <dir>', 'the directory to run in (default: where mic mount mounted the session)')
    .option('--json', 'print the recorded interaction (the API body) after the output')
    .action(async (words: string[], o, c: Command) => {
      const dd = process.argv.indexOf('--');
      const command = dd < 0 ? [] : process.argv.slice(dd + 1);
      const before = words.slice(0, Math.max(0, words.length - command.length));
      if (!command.length) throw new Error('give the command after --: mic session exec [id] -- <cmd...>');
      if (before.length > 1) throw new Error(`one session id before --, not ${before.join(' ')}`);
      await withBackend(c, o.json, async (api) => {
        const id = await sessionIdOr(api, before[0]);
        const dir = o.dir ?? mountPointOf(id) ?? mountRecordOf(dataDirOf(c), id);
        if (!dir) throw new Error(`session ${id} is not mounted here: mic mount ${id}, or give --dir`);
        if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--dir ${dir}: not a directory`);
        const ran = await run(command, dir);
        const body = await api.interactions(id, {
          command: command.map(shellQuote).join(' '),
          result: ran.output,
          exit_status: ran.code,
          started_at: new Date(ran.started).toISOString(),
          ended_at: new Date(ran.ended).toISOString(),
          cwd: path.resolve(dir),
        });
        if (o.json) printJson(body);
        else if (ran.code !== 0) out(`(exit status ${ran.code ?? 'none: killed by a signal'}; recorded in session ${id})`);
        process.exitCode = ran.code ?? 128;
      });
    });
}
