// The daemon: one TCP port serving MOUNT v3 and NFSv3 for every live session, and the HTTP API.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { RpcServer } from '../../rpc/server.js';
import { BusyPoll } from '../../rpc/busy-poll.js';
import { nfsProgram } from '../nfs/program.js';
import { mountProgram } from '../mount/program.js';
import { HandleCodec } from '../fs/handles.js';
import { SessionExports } from '../session/exports.js';
import { SnapshotExports } from '../session/snapshots.js';
import { SessionService } from '../session/service.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import type { ApiLimits } from '../api/limits.js';
import { ensureApiToken } from './api-token.js';
import { daemonInfoPath, type DaemonInfo } from './daemon-info.js';
import { openAccess } from './open-access.js';
import { BackgroundSealer } from '../session/sealer.js';
import { stopLineCounts } from '../session/line-counts.js';
import { sweepTrash } from '../session/host.js';
import { GitExportWatcher } from '../git/export-watcher.js';
import { TieredBackend } from '../store/tiered-backend.js';
import { AllowList } from './allow.js';
import { DEFAULT_LIMITS, effectiveMaxConnections, openFileLimit, type ConnectionLimits } from './limits.js';
import { DEFAULT_EXPORT_OPTIONS, formatExportOptions, type ExportOptions } from './export-options.js';
import { AUTH_TOOWEAK } from '../../rpc/message.js';
import type { PeerVerdict } from '../../rpc/server.js';
import { sendfileAddon } from '../../rpc/file-slice.js';
import { handleSecret, openCatalog } from './data-dir.js';
import { RpcMetrics } from '../metrics/rpc-metrics.js';
import { enableMetrics } from '../metrics/registry.js';
import { instrumentBackend } from '../metrics/store-metrics.js';
import { watchDaemon } from './metrics.js';
import { warmUp } from './warm-up.js';
import { startPortmapper, type Portmapper } from '../portmap/portmapper.js';
import { IPPROTO_TCP } from '../portmap/table.js';
import { MOUNT_PROGRAM, MOUNT_V3 } from '../mount/common.js';
import { NFS_PROGRAM, NFS_V3 } from '../nfs/common.js';

/** What the portmapper announces: MOUNT v3 and NFS v3 over TCP, both on the one RPC port. */
function servicesOn(port: number) {
  return [
    { prog: MOUNT_PROGRAM, vers: MOUNT_V3, prot: IPPROTO_TCP, port },
    { prog: NFS_PROGRAM, vers: NFS_V3, prot: IPPROTO_TCP, port },
  ];
}

export interface DaemonConfig {
  dataDir: string;
  bind: string;
  port: number;
  allow: string[];
  log: Logger;
  /** HTTP API port (0 picks one); null or undefined: no API */
  apiPort?: number | null;
  /** API bind address (default 127.0.0.1); a non-loopback address needs apiToken */
  apiBind?: string;
  apiToken?: string;
  /** read the token from this file, creating it (0600) when missing; the CLI finds it through daemon.json */
  apiTokenFile?: string;
  /** origins (besides the API's own) whose pages may call the API */
  apiAllowOrigins?: string[];
  /** host names (besides IP literals and localhost) the API answers to */
  apiAllowHosts?: string[];
  apiLimits?: Partial<ApiLimits>;
  /** the largest artifact the API accepts (bytes; default 16 GiB) */
  maxArtifactBytes?: number;
  /** the API port is only a default: if it is taken, serve without the API (with a warning) */
  apiPortOptional?: boolean;
  /** background sealer: record a changed session's tree.json this long after its last change (ms); null/undefined: off */
  sealDelayMs?: number | null;
  /** export every project's heads after each landing into <dir>/<org>/<name>.git (mic serve --export-git) */
  exportGitDir?: string | null;
  /** how often the export watcher compares the heads with what it exported (ms; default 2000) */
  exportGitPollMs?: number;
  /** how long a READ of a base file waits for the store before answering JUKEBOX (ms; default 1500) */
  readWaitMs?: number;
  /** how long a landing waits for an unreachable store and for the uploads it needs (ms; default 120 s) */
  landWaitMs?: number;
  /** on close, wait this long for pending S3 uploads (default 5000 ms); the rest stays in the outbox */
  uploadDrainMs?: number;
  /** on close, wait this long for API changes under way to finish and be answered, then as long again for
   *  their audit entries' writes (default 5000 ms each) */
  stopWaitMs?: number;
  /** answer PMAP v2 on this port (111 by default) or register with a running rpcbind; null/undefined: off */
  portmap?: { port?: number } | null;
  /** connection limits of the NFS port (defaults: DEFAULT_LIMITS) */
  limits?: Partial<ConnectionLimits>;
  /** secure, root_squash, ... (defaults: DEFAULT_EXPORT_OPTIONS) */
  exportOptions?: ExportOptions;
  /** the longest the event loop keeps polling after RPC activity (µs; rpc/busy-poll.ts); 0 (absent): never. `serve`'s default is busy-poll-default.ts's */
  busyPollUs?: number;
  /** before listening, run at most this many synthetic calls against a scratch session so that V8 has compiled
   *  the call path before the first client's calls (daemon/warm-up.ts); 0 (absent): none. `serve`'s default is WARM_UP_CALLS */
  warmUpCalls?: number;
}

export interface Daemon {
  port: number;
  apiPort: number | null;
  exports: SessionExports;
  service: SessionService;
  close(): Promise<void>;
}

export { daemonInfoPath, type DaemonInfo } from './daemon-info.js';

/** Admission of a new connection: --allow (closed at once) and `secure` (calls denied with AUTH_TOOWEAK). */
function peerGate(allow: AllowList, secure: boolean): (address: string, port: number) => PeerVerdict {
  return (address, port) => {
    if (!allow.allows(address)) return { close: true, reason: 'address not in --allow' };
    // exports(5) secure: AUTH_SYS is only as good as the client's root, which alone may bind ports below 1024
    if (secure && port >= 1024) return { close: false, denyCalls: AUTH_TOOWEAK, reason: 'unprivileged source port (export option secure)' };
    return null;
  };
}

export async function startDaemon(cfg: DaemonConfig): Promise<Daemon> {
  const allow = new AllowList(cfg.allow);
  const exportOptions = cfg.exportOptions ?? DEFAULT_EXPORT_OPTIONS;
  const limits: ConnectionLimits = { ...DEFAULT_LIMITS, ...cfg.limits };
  const nofile = openFileLimit();
  const { max: maxConnections, reserve } = effectiveMaxConnections(limits, nofile);
  // the daemon serves /metrics: metrics on (prom-client loaded) before anything counts, S3 requests counted
  enableMetrics();
  const catalog = openCatalog(cfg.dataDir, { log: cfg.log, uploadWaitMs: cfg.landWaitMs, instrument: instrumentBackend });
  const tiered = catalog.backend instanceof TieredBackend ? catalog.backend : null;
  void sweepTrash(cfg.dataDir); // ended sessions' directories a crash left in the trash (session/host.ts)
  if (tiered) {
    const n = await tiered.resumeUploads();
    if (n > 0) cfg.log.info({ objects: n }, 'resuming uploads left in the outbox');
  }
  const handles = new HandleCodec(handleSecret(cfg.dataDir, cfg.log));
  // RFC 1813 3.3.7: a new verifier on every start, since unstable writes may be lost
  const writeVerifier = randomBytes(8);
  // read-only exports of heads and trees, beside the sessions' (session/snapshots.ts)
  const snapshots = new SnapshotExports({ catalog, dataDir: cfg.dataDir, handles, writeVerifier, log: cfg.log });
  const exports = new SessionExports({
    snapshots,
    catalog,
    dataDir: cfg.dataDir,
    handles,
    writeVerifier,
    allow,
    log: cfg.log,
    readWaitMs: cfg.readWaitMs,
    mountGoneMs: limits.mountGoneMs,
  });
  await exports.preload();
  await snapshots.preload();
  exports.startLeases();
  const service = new SessionService({ catalog, host: exports, dataDir: cfg.dataDir, landWaitMs: cfg.landWaitMs, log: cfg.log });
  await service.settleHandoffs(exports.servedIds()); // handoffs a crash cut short (session/handoff.ts)
  exports.onMount = (m) => service.recordMount(m); // a timeline event, and one on the event streams
  const sealer = cfg.sealDelayMs
    ? new BackgroundSealer({ target: exports, seal: (id) => service.sealServed(id), delayMs: cfg.sealDelayMs, log: cfg.log })
    : null;
  sealer?.start();
  const busyPoll = new BusyPoll({ maxUs: cfg.busyPollUs ?? 0 });
  const metrics = watchDaemon(catalog, () => server.connectionCount, busyPoll);
  const observer = new RpcMetrics();
  const server = new RpcServer({
    logger: cfg.log,
    observer,
    maxConnections,
    maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
    idleTimeoutMs: limits.idleTimeoutMs,
    partialRecordTimeoutMs: limits.recordTimeoutMs,
    maxRecordMemory: limits.recordMemory,
    gate: peerGate(allow, exportOptions.secure),
    onPeer: (address, connected) => exports.peer(address, connected), // a vanished client's mounts end
    busyPoll,
  });
  server.register(mountProgram(exports, cfg.log));
  server.register(nfsProgram(exports, cfg.log, exportOptions));
  cfg.log.info(
    {
      maxConnections,
      perAddress: limits.maxConnectionsPerAddress,
      idleTimeoutMs: limits.idleTimeoutMs,
      recordTimeoutMs: limits.recordTimeoutMs,
      recordMemory: limits.recordMemory,
      openFileLimit: nofile,
      fdReserve: reserve,
      allow: allow.specs,
      exportOptions: formatExportOptions(exportOptions),
      busyPollUs: busyPoll.governor.maxUs,
    },
    'connection limits and export options',
  );
  if (cfg.warmUpCalls)
    cfg.log.info(await warmUp({ log: cfg.log, calls: cfg.warmUpCalls, busyPollUs: busyPoll.governor.maxUs }), 'warm-up done');
  const port = await server.listen(cfg.port, cfg.bind);
  cfg.log.info({ port, bind: cfg.bind, dataDir: cfg.dataDir, sendfile: sendfileAddon() !== null }, 'listening');
  let portmap: Portmapper | null = null;
  if (cfg.portmap) {
    try {
      portmap = await startPortmapper({
        bind: cfg.bind,
        port: cfg.portmap.port,
        services: servicesOn(port),
        log: cfg.log,
        observer,
        busyPoll,
      });
    } catch (e) {
      metrics();
      await server.close();
      await sealer?.stop();
      exports.closeAll();
      throw e;
    }
  }
  let api: ApiServer | null = null;
  const access = await openAccess(catalog, cfg.dataDir, cfg.log, { maxArtifactBytes: cfg.maxArtifactBytes });
  if (cfg.apiPort !== undefined && cfg.apiPort !== null) {
    try {
      const token = cfg.apiToken ?? (cfg.apiTokenFile ? ensureApiToken(cfg.apiTokenFile) : undefined);
      api = await startApiServer({
        service,
        bind: cfg.apiBind,
        port: cfg.apiPort,
        token,
        log: cfg.log,
        allowOrigins: cfg.apiAllowOrigins,
        allowHosts: cfg.apiAllowHosts,
        limits: cfg.apiLimits,
        access,
      });
    } catch (e) {
      if (cfg.apiPortOptional && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        cfg.log.warn({ apiPort: cfg.apiPort }, 'API port in use: serving without the HTTP API (give --api-port)');
      } else {
        metrics();
        await portmap?.close();
        await server.close();
        await sealer?.stop();
        exports.closeAll();
        await access.close();
        throw e;
      }
    }
  }
  const info: DaemonInfo = {
    pid: process.pid,
    port,
    portmap_port: portmap?.port ?? null,
    bind: cfg.bind,
    api_port: api?.port ?? null,
    api_bind: api?.bind ?? null,
    started_at: new Date().toISOString(),
    api_token_file: api && !cfg.apiToken && cfg.apiTokenFile ? path.resolve(cfg.apiTokenFile) : null,
  };
  const infoFile = daemonInfoPath(cfg.dataDir);
  try {
    fs.writeFileSync(infoFile, JSON.stringify(info) + '\n');
  } catch (e) {
    // a full disk must not keep the daemon from serving (reads go on): only the CLI cannot find it
    cfg.log.error({ err: (e as Error).message, file: infoFile }, 'daemon.json not written: the CLI will not find this daemon');
  }
  // last, once serving: nothing to stop on the failure paths above
  const gitExport = cfg.exportGitDir
    ? new GitExportWatcher({ catalog, dir: cfg.exportGitDir, log: cfg.log, pollMs: cfg.exportGitPollMs })
    : null;
  gitExport?.start();
  return {
    port,
    apiPort: api?.port ?? null,
    exports,
    service,
    async close() {
      try {
        const cur = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as DaemonInfo;
        if (cur.pid === info.pid && cur.port === info.port) fs.rmSync(infoFile, { force: true });
      } catch {
        /* gone already */
      }
      const wait = cfg.stopWaitMs ?? 5000;
      // a change under way through the API is let finish, answered, and audited (its connection is not cut
      // with the change made and its entry lost to the exit)
      const cut = (await api?.close(wait)) ?? 0;
      if (cut) cfg.log.warn({ requests: cut, waited_ms: wait }, 'stop: API changes still under way were cut off');
      await portmap?.close();
      metrics();
      await access.close();
      // the audit log's writes under way (appends, entry objects written behind) are not cut off either
      if (!(await access.audit.drain(wait)))
        cfg.log.warn({ pending: access.audit.pending(), waited_ms: wait }, 'stop: audit log writes still pending, not waited for');
      busyPoll.stop();
      await server.close();
      await sealer?.stop();
      await stopLineCounts(catalog.backend);
      await catalog.unmarked(wait); // ended sessions' live markers removed behind their answers
      await gitExport?.close();
      exports.closeAll();
      if (tiered && !(await tiered.close(cfg.uploadDrainMs ?? 5000))) {
        cfg.log.warn({ ...tiered.uploadStats() }, 'uploads still pending: they stay in the outbox for the next start');
      }
    },
  };
}
