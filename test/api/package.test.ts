// `npm pack` gives a package limited to dist/ and docs/ whose `mic` bin, installed with npm i -g
// (into a temporary prefix), runs: --version, and a project and session on the installed store code
// (which needs the native zstd binding built at install time).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/kernel.js';
import { tempDir, writeFiles } from '../session/helpers.js';

describe('npm package', () => {
  it('packs dist and docs only, installs with npm i -g and runs mic', async () => {
    const tmp = await tempDir('micfs-pack-');
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
    // dist/ is built already (scripts/test.sh builds before vitest): skip prepack's rebuild
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: REPO_ROOT, encoding: 'utf8' }),
    );
    const files = (packed[0].files as { path: string }[]).map((f) => f.path);
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('package.json');
    expect(files).toContain('dist/ui-assets/app.js');
    expect(files.filter((f) => !/^(dist\/.*|docs\/.*|package\.json|README\.md|LICENSE)$/.test(f))).toEqual([]);
    expect(files.some((f) => f.startsWith('dist/test') || f.endsWith('.ts') || f.endsWith('.map'))).toBe(false);
    expect(readFileSync(join(REPO_ROOT, 'dist/src/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);

    const prefix = join(tmp, 'prefix');
    // from the npm cache when it holds every dependency (after npm ci), else through the registry
    const npmInstall = (mode: string) =>
      spawnSync(
        'npm',
        ['i', '-g', '--prefix', prefix, mode, '--allow-scripts=zstd-napi', '--no-audit', '--no-fund', join(tmp, packed[0].filename)],
        { cwd: tmp, encoding: 'utf8' },
      );
    let install = npmInstall('--offline');
    if (install.status !== 0) install = npmInstall('--prefer-offline');
    expect(install.status, install.stderr).toBe(0);
    const mic = (args: string[]) =>
      spawnSync(join(prefix, 'bin', 'mic'), args, { cwd: tmp, encoding: 'utf8', env: { ...process.env, MIC_DATA_DIR: join(tmp, 'data') } });
    const v = mic(['--version']);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    await writeFiles(join(tmp, 'src'), { 'README.md': 'packaged\n' });
    const init = mic(['project', 'init', 'acme/pkg', '--from', join(tmp, 'src')]);
    expect(init.status, init.stderr).toBe(0);
    const start = mic(['session', 'start', '--project', 'acme/pkg', '--goal', 'installed', '--json']);
    expect(start.status, start.stderr).toBe(0);
    expect(JSON.parse(start.stdout).session.export).toMatch(/^\/exports\/sessions\//);
  }, 600_000);
});
