// Test fixture: a real daemon serving one session whose base holds the given files (landed: read from the
// store's chunks), with a small RAM cache (MIC_RAM_CACHE_BYTES) so chunk buffers are evicted and reused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startDaemon } from '../../src/daemon/daemon.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { importTree, initProject } from '../../src/session/project.js';
import { startSession } from '../../src/session/start.js';

type Store = ReturnType<ReturnType<typeof openCatalog>['store']>;
type Tree = Awaited<ReturnType<typeof importTree>>['tree'];

export interface LandedFilesDaemon {
  daemon: Awaited<ReturnType<typeof startDaemon>>;
  exportPath: string;
  close(): Promise<void>;
}

/** Imports `files` as project test/<name>'s head, starts session <name> on it and a daemon with a RAM cache
 *  of `ramBytes`; `check` sees the imported tree before the session starts (assertions on how it is stored). */
export async function landedFilesDaemon(
  name: string,
  files: Map<string, Buffer>,
  ramBytes: number,
  check?: (store: Store, tree: Tree) => Promise<void>,
): Promise<LandedFilesDaemon> {
  const ramWas = process.env.MIC_RAM_CACHE_BYTES;
  process.env.MIC_RAM_CACHE_BYTES = String(ramBytes);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `micfs-${name}-`));
  const src = path.join(dataDir, 'import');
  fs.mkdirSync(src);
  for (const [file, data] of files) fs.writeFileSync(path.join(src, file), data);
  const catalog = openCatalog(dataDir);
  const store = catalog.store(`test/${name}`);
  const { tree, nextIno } = await importTree(store, src);
  await check?.(store, tree);
  await initProject(store, tree, nextIno, name);
  await startSession(catalog, { project: `test/${name}`, goal: name, sessionId: name, owner: { uid: 0, gid: 0 } });
  const daemon = await startDaemon({ dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log: pino({ level: 'silent' }) });
  return {
    daemon,
    exportPath: `/exports/sessions/${name}`,
    async close() {
      await daemon.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (ramWas === undefined) delete process.env.MIC_RAM_CACHE_BYTES;
      else process.env.MIC_RAM_CACHE_BYTES = ramWas;
    },
  };
}
