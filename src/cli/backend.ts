// Where the CLI sends its requests. When a daemon with an API serves the data directory, everything goes
// through its HTTP API: the daemon holds the sessions' journals open, and two processes must never open
// one session's journal. Without a daemon the CLI runs the same service in-process (DirectHost opens a
// session's filesystem under a lock file). A daemon without an API leaves the CLI read-only.
import fs from 'node:fs';
import net from 'node:net';
import type { Command } from 'commander';
import type { SessionApi } from '../session/session-api.js';
import { daemonInfoPath, type DaemonInfo } from '../daemon/daemon-info.js';
import { dataDirOf, out, printJson } from './common.js';
import { localActor } from './identity.js';
import { defaultApiTokenPath, readApiToken } from '../daemon/api-token.js';

export interface Backend {
  api: SessionApi;
  via: 'daemon' | 'direct';
  daemon: DaemonInfo | null;
  close(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running daemon of a data dir, from <dataDir>/daemon.json, or null. */
export function runningDaemon(dataDir: string): DaemonInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(daemonInfoPath(dataDir), 'utf8')) as DaemonInfo;
    return typeof info.pid === 'number' && alive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

/** The base URL of a running daemon's API. */
export function apiUrl(info: DaemonInfo): string {
  let host = info.api_bind ?? '127.0.0.1';
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  if (net.isIPv6(host)) host = `[${host}]`;
  return `http://${host}:${info.api_port}`;
}

export async function backendFor(cmd: Command): Promise<Backend> {
  const dataDir = dataDirOf(cmd);
  const daemon = runningDaemon(dataDir);
  if (daemon && daemon.api_port !== null) {
    const token = apiTokenFor(dataDir, daemon, optOf(cmd, 'apiToken') as string | undefined);
    const { MicClient } = await import('../api/client.js');
    return { api: new MicClient({ baseUrl: apiUrl(daemon), token }), via: 'daemon', daemon, close: async () => {} };
  }
  // MIC_LAND_WAIT (seconds) bounds an in-process landing's waits for the store as `mic serve --land-wait` does
  const wait = Number(process.env.MIC_LAND_WAIT);
  const landWaitMs = Number.isFinite(wait) && wait > 0 ? Math.round(wait * 1000) : undefined;
  // loaded here, not at the top: a command that talks to a daemon (or prints help) never needs them
  const [
    { SessionService },
    { DirectHost },
    { handleSecret, openCatalog },
    { guardedApi },
    { AuditLog },
    { EventBus },
    { GrantStore },
    { cliLogger },
  ] = await Promise.all([
    import('../session/service.js'),
    import('../session/host.js'),
    import('../daemon/data-dir.js'),
    import('../gate/guarded-api.js'),
    import('../audit/audit-log.js'),
    import('../events/event-bus.js'),
    import('../identity/grant-store.js'),
    import('./cli-log.js'),
  ]);
  // what the in-process service finishes beside the command (a rebase or handoff a crash cut short) is said
  // on stderr, as the daemon logs it
  const log = cliLogger();
  const catalog = openCatalog(dataDir, landWaitMs ? { uploadWaitMs: landWaitMs } : undefined);
  const host = new DirectHost(
    catalog,
    dataDir,
    handleSecret(dataDir),
    daemon
      ? {
          refuse: `a daemon (pid ${daemon.pid}) serves ${dataDir} without its HTTP API; restart it with --api-port to change sessions from the CLI`,
          log,
        }
      : { log },
  );
  // in-process changes are audited like the API's, with the local user as actor; a handoff a crash cut short
  // is finished on the session's first use, as the daemon does at start-up
  const service = new SessionService({ catalog, host, dataDir, landWaitMs, log, settleHandoffsOnUse: true });
  const api = guardedApi(
    service,
    { user: localActor(), roles: [{ scope: '*', right: 'admin' }] },
    {
      catalog,
      audit: new AuditLog(catalog.backend),
      bus: new EventBus(),
      grants: new GrantStore(catalog.backend),
    },
  );
  return { api, via: 'direct', daemon, close: () => host.closeAll() };
}

/** The API token: --api-token, MIC_API_TOKEN, MIC_API_TOKEN_FILE, the daemon's token file, <dataDir>/api-token. */
export function apiTokenFor(dataDir: string, daemon: DaemonInfo | null, flag?: string): string | undefined {
  const given = flag ?? process.env.MIC_API_TOKEN;
  if (given) return given;
  const file = process.env.MIC_API_TOKEN_FILE || daemon?.api_token_file || defaultApiTokenPath(dataDir);
  return readApiToken(file) ?? undefined;
}

function optOf(cmd: Command, name: string): unknown {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const v = c.opts()[name];
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Runs a command against the backend. API errors print their body (with --json, on stdout, as the API
 * sent it) and set exit status 1, or 2 for landing conflicts.
 */
export async function withBackend(cmd: Command, json: boolean, fn: (api: SessionApi, b: Backend) => Promise<void>): Promise<void> {
  const b = await backendFor(cmd);
  try {
    await fn(b.api, b);
  } catch (e) {
    // only a failure needs the error classes (and the API's, which reach into the store)
    const { exitCodeOf, failureBodyOf } = await import('./exit-codes.js');
    const body = failureBodyOf(e);
    if (!body) throw e;
    process.exitCode = exitCodeOf(body);
    if (json) printJson(body);
    else {
      process.stderr.write(`mic: ${body.message}\n`);
      for (const c of body.conflicts ?? []) process.stderr.write(`  ${c.kind.padEnd(14)} ${c.path}\n`);
    }
  } finally {
    await b.close();
  }
}

export { out, printJson };
