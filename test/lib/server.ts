// Test server: the real daemon (RPC server, NFSv3 and MOUNT v3 over the session
// filesystem and the local store) on 127.0.0.1:0, with one session "test" on a
// small imported project. Protocol tests use only what this returns plus the NFS client.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startDaemon } from '../../src/daemon/daemon.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { importTree, initProject } from '../../src/session/project.js';
import { startSession } from '../../src/session/start.js';

export interface TestServer {
  host: string;
  port: number;
  /** the path MNT accepts */
  exportPath: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'micfs-proto-'));
  const src = path.join(dataDir, 'import');
  fs.mkdirSync(src);
  const catalog = openCatalog(dataDir);
  const store = catalog.store('test/proto');
  const { tree, nextIno } = await importTree(store, src);
  await initProject(store, tree, nextIno, 'empty');
  await startSession(catalog, { project: 'test/proto', goal: 'protocol tests', sessionId: 'test', owner: { uid: 0, gid: 0 } });
  const daemon = await startDaemon({ dataDir, bind: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], log });
  return {
    host: '127.0.0.1',
    port: daemon.port,
    exportPath: '/exports/sessions/test',
    dataDir,
    async close() {
      await daemon.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
