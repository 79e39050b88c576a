// `mic completion bash|zsh`: the generated script, sourced by a real bash, completes subcommands,
// nested subcommands, options (the global ones too) and the ids of live sessions.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runMic } from '../lib/daemon.js';
import { makeProject, tempDir } from '../session/helpers.js';

describe('mic completion', () => {
  it('completes commands, options and session ids in bash; zsh gets the same through bashcompinit', async () => {
    const dir = await tempDir('micfs-completion-');
    await makeProject(dir, 'acme/comp', { 'a.txt': 'a\n' });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await runMic(['session', 'start', '--project', 'acme/comp', '--goal', 'g', '--json', '--data-dir', dir]);
      ids.push(JSON.parse(r.stdout).session.session_id);
    }
    const bash = await runMic(['completion', 'bash']);
    expect(bash.code).toBe(0);
    const script = join(dir, 'mic-completion.bash');
    writeFileSync(script, bash.stdout);
    // a `mic` on PATH for the id lookup, as after npm i -g
    writeFileSync(join(dir, 'mic'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    const complete = (words: string[]): string[] => {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source "${script}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _mic; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, MIC_DATA_DIR: dir },
        },
      );
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    expect(complete(['mic', 'se'])).toEqual(['serve', 'session']);
    expect(complete(['mic', 'session', 'ha'])).toEqual(['handoff']);
    expect(complete(['mic', 'gc', '--d'])).toEqual(['--data-dir', '--dry-run']);
    expect(complete(['mic', 'serve', '--port'])).toEqual(['--port', '--portmap', '--portmap-port']);
    expect(complete(['mic', 'mount', ''])).toEqual([...ids].sort());
    expect(complete(['mic', 'session', 'land', ids[0].slice(0, -3)])).toEqual([ids[0]]);

    const zsh = await runMic(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -o default -F _mic mic');
    expect((await runMic(['completion', 'fish'])).stderr).toMatch(/unknown shell "fish"/);
  }, 120_000);
});
