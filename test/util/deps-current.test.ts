// scripts/deps-current.mjs, which scripts/install-deps.sh (and so npm test, npm run bench) asks whether
// node_modules holds what package-lock.json says, on copies of this checkout's real lock files. A lock file
// newer than node_modules but with the same content (a checkout, a merge, a touch) needs no `npm ci`: the
// old rule (`package-lock.json -nt node_modules`) ran one each time. A changed lock, a package missing or
// one too many does.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'mic-deps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const LOCK = join(dir, 'package-lock.json');
const INSTALLED = join(dir, 'node_modules', '.package-lock.json');

function current(): { ok: boolean; why: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'deps-current.mjs'), dir], { encoding: 'utf8' });
  return { ok: r.status === 0, why: r.stderr };
}

function fresh(): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package-lock.json'), LOCK);
  copyFileSync(join(REPO_ROOT, 'node_modules', '.package-lock.json'), INSTALLED);
}

const edit = (file: string, f: (j: any) => void) => {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  f(j);
  writeFileSync(file, JSON.stringify(j, null, 2));
};

describe('deps-current', () => {
  it('a lock newer than node_modules with the same content needs no npm ci', () => {
    fresh();
    const later = new Date(Date.now() + 3600_000);
    utimesSync(LOCK, later, later);
    // the old rule would have reinstalled
    expect(
      execFileSync('bash', ['-c', `[ package-lock.json -nt node_modules ] && echo newer || echo older`], {
        cwd: dir,
        encoding: 'utf8',
      }).trim(),
    ).toBe('newer');
    expect(current()).toEqual({ ok: true, why: '' });
  });

  it('a changed version, a missing package, an extra one or no install at all needs it', () => {
    fresh();
    edit(LOCK, (j) => (j.packages['node_modules/pino'].version = '0.0.1'));
    expect(current()).toMatchObject({ ok: false, why: expect.stringContaining('node_modules/pino is') });

    fresh();
    edit(INSTALLED, (j) => delete j.packages['node_modules/commander']);
    expect(current()).toMatchObject({ ok: false, why: expect.stringContaining('node_modules/commander is not installed') });

    fresh();
    edit(INSTALLED, (j) => (j.packages['node_modules/left-over'] = { version: '1.0.0' }));
    expect(current()).toMatchObject({ ok: false, why: expect.stringContaining('node_modules/left-over is installed') });

    fresh();
    rmSync(INSTALLED);
    expect(current().ok).toBe(false);
  });

  it('install-deps.sh asks it instead of comparing mtimes', () => {
    const script = readFileSync(join(REPO_ROOT, 'scripts', 'install-deps.sh'), 'utf8');
    expect(script).toContain('node scripts/deps-current.mjs');
    expect(script).not.toMatch(/package-lock\.json -nt node_modules/);
  });
});
