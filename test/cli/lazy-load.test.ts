// mic loads only what the command it runs needs: help and --version load the command tree and no store;
// a local `session list` never loads the daemon, the NFS server, git import/export, the S3 SDK or the
// progress bars (a loader records every file the mic process loads: test/cli/record-loads.mjs); commands
// that open the store and land or list sessions never load prom-client, which only a daemon serving
// /metrics turns on (src/metrics/registry.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initProject, runMic, startSession } from '../lib/daemon.js';
import { tempDir } from '../session/helpers.js';

const RECORDER = pathToFileURL(join(import.meta.dirname, 'record-loads.mjs')).href;
const HEAVY = [
  /\/dist\/src\/daemon\/daemon\.js$/,
  /\/dist\/src\/nfs\//,
  /\/dist\/src\/git\//,
  /\/dist\/src\/api\/server\.js$/,
  /\/@aws-sdk\//,
  /\/cli-progress\//,
  /\/pino-pretty\//,
];

async function loadsOf(args: string[], dataDir?: string): Promise<{ files: string[]; stdout: string; code: number }> {
  const dir = await tempDir('micfs-lazy-');
  const list = join(dir, 'loads.txt');
  const r = await runMic(args, {
    env: { MIC_DATA_DIR: dataDir ?? join(dir, 'data'), MIC_TEST_LOADS: list, NODE_OPTIONS: `--import ${RECORDER}`, MIC_S3_BUCKET: '' },
  });
  const files = (await readFile(list, 'utf8')).split('\n').filter(Boolean);
  return { files, stdout: r.stdout, code: r.code };
}

/** What no help text needs: the store, the session service, metrics, logging. */
const STORE = [
  /\/dist\/src\/store\//,
  /\/dist\/src\/session\/(catalog|service)\.js$/,
  /\/dist\/src\/core\//,
  /\/zstd-napi\//,
  /\/prom-client\//,
  /\/pino\//,
];

function storeIn(files: string[]): string[] {
  return files.filter((f) => STORE.some((h) => h.test(f)));
}

function heavyIn(files: string[]): string[] {
  return files.filter((f) => HEAVY.some((h) => h.test(f)));
}

describe('mic loads lazily', () => {
  it('--version and session --help load the command tree, nothing heavy', async () => {
    for (const args of [['--version'], ['session', '--help']]) {
      const r = await loadsOf(args);
      expect(r.code).toBe(0);
      expect(r.files.some((f) => f.endsWith('/dist/src/cli/main.js'))).toBe(true);
      expect(r.files.some((f) => f.endsWith('/dist/src/cli/session.js'))).toBe(true);
      expect(heavyIn(r.files)).toEqual([]);
      expect(storeIn(r.files)).toEqual([]);
    }
  });

  it('session list on a local store runs the in-process service without the daemon, NFS, git or S3', async () => {
    const r = await loadsOf(['session', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no sessions');
    expect(r.files.some((f) => f.endsWith('/dist/src/session/service.js'))).toBe(true);
    expect(r.files.some((f) => f.includes('/zstd-napi/'))).toBe(true);
    expect(heavyIn(r.files)).toEqual([]);
    // nothing logs in it, so pino is not loaded (src/util/pino-lazy.ts)
    expect(r.files.filter((f) => f.includes('/node_modules/pino/'))).toEqual([]);
  });

  it('session list and log on a data dir with a project and a session do not load prom-client', async () => {
    const dataDir = join(await tempDir('micfs-lazy-data-'), 'data');
    expect((await initProject(dataDir, 'acme/lazy', { 'a.txt': 'a\n' })).code).toBe(0);
    const s = await startSession(dataDir, 'acme/lazy', 'lazy metrics');
    const list = await loadsOf(['session', 'list'], dataDir);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(s.session_id);
    const log = await loadsOf(['log', '--project', 'acme/lazy'], dataDir);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/^[0-9a-f]{12} /m);
    for (const r of [list, log]) {
      expect(r.files.some((f) => f.endsWith('/dist/src/store/open-backend.js'))).toBe(true);
      // the session modules that count (landing, gc) are loaded, their metrics are not defined
      expect(r.files.some((f) => f.endsWith('/dist/src/metrics/session-metrics.js'))).toBe(true);
      expect(r.files.filter((f) => f.includes('/prom-client/'))).toEqual([]);
    }
  });

  it('serve --help lists its options without starting to load the daemon', async () => {
    const r = await loadsOf(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--export-options');
    expect(heavyIn(r.files)).toEqual([]);
    expect(storeIn(r.files)).toEqual([]);
  });
});
