// A daemon (from dist/) on a temp data dir with a few projects and sessions, for the UI benchmark and the
// screenshots in docs/. Loopback, free ports. Requires `npm run build`.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';

const dist = new URL('../dist/src/', import.meta.url);
const { startDaemon } = await import(new URL('daemon/daemon.js', dist));
const { openCatalog } = await import(new URL('daemon/data-dir.js', dist));
const { importTree, initProject } = await import(new URL('session/project.js', dist));

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function fixtureDaemon() {
  const root = mkdtempSync(join(tmpdir(), 'mic-ui-'));
  const dataDir = join(root, 'data');
  const d = await startDaemon({ dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log: pino({ level: 'silent' }), apiPort: 0 });
  const url = `http://127.0.0.1:${d.apiPort}`;
  const call = async (method, path, body) => {
    const res = await fetch(url + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const j = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(j)}`);
    return j;
  };
  const project = async (name, files) => {
    const src = join(root, `src-${name.replace('/', '_')}`);
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(src, rel)), { recursive: true });
      writeFileSync(join(src, rel), content);
    }
    const store = openCatalog(dataDir).store(name);
    const { tree, nextIno } = await importTree(store, src);
    await initProject(store, tree, nextIno, `import ${name}`);
    rmSync(src, { recursive: true, force: true });
  };
  return {
    d,
    url,
    call,
    project,
    dataDir,
    async close() {
      await d.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
