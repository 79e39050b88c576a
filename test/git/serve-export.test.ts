// `mic serve --export-git DIR`: the daemon exports each landing as a commit of DIR/<org>/<name>.git,
// incrementally, also when two sessions land at once (one through the API, one by another process).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiClientOf, startDaemon, type Daemon } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';
import { git } from './repo.js';

const P = 'acme/served';

describe('mic serve --export-git', () => {
  let d: Daemon;
  let root: string;

  beforeAll(async () => {
    root = await tempDir('micfs-serve-export-');
    d = await startDaemon({ env: { MIC_API_PORT: '0' }, args: ['--export-git', join(root, 'git'), '--export-git-interval', '0.2'] });
    await d.initProject(P, { 'README.md': { content: '# served\n' } });
  }, 60_000);

  afterAll(async () => {
    await d?.stop('SIGTERM', { cleanup: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('two sessions landed at once become two commits on top of the first head; git fsck --strict is clean', async () => {
    const repo = join(root, 'git', 'acme', 'served.git');
    const branch = 'mic/served';
    const log = () => {
      try {
        return git(repo, 'log', '--format=%H %s%n%(trailers:key=Mic-Session,valueonly)', branch);
      } catch {
        return '';
      }
    };
    const waitFor = async (what: string, pred: () => boolean) => {
      for (let i = 0; i < 600 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(pred(), `${what}\n${log()}\n${d.log().slice(-3000)}`).toBe(true);
    };
    // the head that was there when the daemon started is exported without any landing
    await waitFor('the initial head exported', () => existsSync(repo) && log() !== '');
    expect(git(repo, 'rev-list', '--count', branch)).toBe('1');

    const api = apiClientOf(d.dataDir);
    const a = (await api.start({ project: P, goal: 'add a' })).session.session_id;
    const b = (await api.start({ project: P, goal: 'add b' })).session.session_id;
    await api.files(a, { files: [{ path: 'a.txt', change_type: 'added', content: 'from a\n' }] });
    await api.files(b, { files: [{ path: 'docs/b.txt', change_type: 'added', content: 'from b\n' }] });
    const [la, lb] = await Promise.all([
      api.land(a, { message: 'land a' }),
      d.mic(['session', 'land', b, '-m', 'land b']), // another process: seen by the daemon's poll
    ]);
    expect(la.session.status).toBe('landed');
    expect(lb.code, lb.stderr + lb.stdout).toBe(0);

    await waitFor('both landings exported', () => log().includes(a) && log().includes(b));
    expect(git(repo, 'rev-list', '--count', branch)).toBe('3');
    expect(git(repo, 'show', `${branch}:a.txt`)).toBe('from a');
    expect(git(repo, 'show', `${branch}:docs/b.txt`)).toBe('from b');
    expect(git(repo, 'show', `${branch}:README.md`)).toBe('# served');
    expect(git(repo, 'notes', '--ref=mic', 'list').split('\n')).toHaveLength(2);
    git(repo, 'fsck', '--strict');
  }, 120_000);
});
