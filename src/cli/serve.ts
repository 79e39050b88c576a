import { Command } from 'commander';
import { LOOPBACK } from '../daemon/allow.js';
import { DEFAULT_LIMITS } from '../daemon/limits.js';

const env = process.env;

/** A whole number from `min` to `max`, or a clear error naming the flag. */
function whole(flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!/^\d+$/.test(String(v).trim()) || n < min || n > max) throw new Error(`${flag}: not a whole number from ${min} to ${max}: ${v}`);
  return n;
}
import path from 'node:path';
import { dataDirOf } from './common.js';
import { defaultApiTokenPath } from '../daemon/api-token.js';
import { autoBusyPollUs } from '../daemon/busy-poll-default.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve every live session over NFSv3 (MOUNT and NFS on one port)')
    .option('--data-dir <dir>', 'data directory (env MIC_DATA_DIR, default ~/.mic)')
    .option('--bind <addr>', 'address to listen on', process.env.MIC_BIND ?? '127.0.0.1')
    .option('--port <n>', 'TCP port for MOUNT and NFS (env MIC_PORT; 0 picks one)', process.env.MIC_PORT ?? '2049')
    .option(
      '--allow <cidrs>',
      'client addresses allowed to mount, comma separated (env MIC_ALLOW)',
      process.env.MIC_ALLOW ?? LOOPBACK.join(','),
    )
    .option('--api-port <n>', 'HTTP API port (env MIC_API_PORT; 0 picks one; "off" disables)', process.env.MIC_API_PORT ?? '2050')
    .option(
      '--api-bind <addr>',
      'HTTP API address (env MIC_API_BIND); not loopback requires --api-token',
      process.env.MIC_API_BIND ?? '127.0.0.1',
    )
    .option(
      '--api-token <token>',
      'bearer token the API requires (env MIC_API_TOKEN; prefer the env or --api-token-file: argv is visible to ps)',
      process.env.MIC_API_TOKEN,
    )
    .option(
      '--api-token-file <file>',
      'file holding the API token, created 0600 when missing (env MIC_API_TOKEN_FILE; default <data-dir>/api-token)',
      process.env.MIC_API_TOKEN_FILE,
    )
    .option('--no-api-token', 'no token: any local process may call the API (loopback only)')
    .option(
      '--api-allow-origin <origins>',
      'web origins allowed to call the API besides its own, comma separated (env MIC_API_ALLOW_ORIGIN)',
      process.env.MIC_API_ALLOW_ORIGIN,
    )
    .option(
      '--api-allow-host <names>',
      'host names the API answers to besides IP addresses and localhost, comma separated; * any (env MIC_API_ALLOW_HOST)',
      process.env.MIC_API_ALLOW_HOST,
    )
    .option(
      '--api-max-body <bytes>',
      'body limit of API routes that carry file contents (env MIC_API_MAX_BODY; default 64 MiB)',
      process.env.MIC_API_MAX_BODY,
    )
    .option(
      '--api-max-connections <n>',
      'open API connections at most (env MIC_API_MAX_CONNECTIONS; default 128)',
      process.env.MIC_API_MAX_CONNECTIONS,
    )
    .option(
      '--api-stream-recheck <ms>',
      "an open event stream re-checks its caller's token and rights when its last check is older than this (env MIC_API_STREAM_RECHECK_MS; default 2000; 0: before every event)",
      process.env.MIC_API_STREAM_RECHECK_MS,
    )
    .option(
      '--seal-delay <seconds>',
      "record a changed session's tree.json this long after its last change (env MIC_SEAL_DELAY; default 3 with S3, off with the local store)",
    )
    .option(
      '--read-wait <ms>',
      'how long a READ of uncached data waits for S3 before answering NFS3ERR_JUKEBOX, so the client retries (env MIC_READ_WAIT_MS)',
      process.env.MIC_READ_WAIT_MS ?? '1500',
    )
    .option(
      '--land-wait <seconds>',
      'how long a landing waits for an unreachable object store, and for the uploads it needs, before failing with 503 / exit 75 (env MIC_LAND_WAIT; nothing is lost: land again later)',
      process.env.MIC_LAND_WAIT ?? '120',
    )
    .option(
      '--portmap',
      'answer the portmapper (PMAP v2) on port 111 so clients mount without port options, or register with a running rpcbind (env MIC_PORTMAP=1)',
      process.env.MIC_PORTMAP === '1',
    )
    .option(
      '--portmap-port <n>',
      'port of the portmapper (env MIC_PORTMAP_PORT; clients only look at 111)',
      process.env.MIC_PORTMAP_PORT ?? '111',
    )
    .option(
      '--max-connections <n>',
      'NFS connections open at once; more are closed at accept (env MIC_MAX_CONNECTIONS; lowered to keep --fd-reserve descriptors free)',
      env.MIC_MAX_CONNECTIONS ?? String(DEFAULT_LIMITS.maxConnections),
    )
    .option(
      '--max-connections-per-address <n>',
      'NFS connections open at once from one client address (env MIC_MAX_CONNECTIONS_PER_ADDRESS)',
      env.MIC_MAX_CONNECTIONS_PER_ADDRESS ?? String(DEFAULT_LIMITS.maxConnectionsPerAddress),
    )
    .option(
      '--idle-timeout <seconds>',
      'close an NFS connection idle this long; 0: never (env MIC_IDLE_TIMEOUT)',
      env.MIC_IDLE_TIMEOUT ?? String(DEFAULT_LIMITS.idleTimeoutMs / 1000),
    )
    .option(
      '--mount-gone <seconds>',
      'a client with mounts and no NFS connection this long is gone: its mounts end (unmounted event, reason gone); 0: never (env MIC_MOUNT_GONE)',
      env.MIC_MOUNT_GONE ?? String(DEFAULT_LIMITS.mountGoneMs / 1000),
    )
    .option(
      '--record-timeout <seconds>',
      'close an NFS connection whose RPC record stays incomplete this long; 0: never (env MIC_RECORD_TIMEOUT)',
      env.MIC_RECORD_TIMEOUT ?? String(DEFAULT_LIMITS.recordTimeoutMs / 1000),
    )
    .option(
      '--record-memory <MiB>',
      'memory all partially received RPC records may hold together (env MIC_RECORD_MEMORY)',
      env.MIC_RECORD_MEMORY ?? String(DEFAULT_LIMITS.recordMemory / 1024 / 1024),
    )
    .option(
      '--fd-reserve <n>',
      'file descriptors kept free for data files and journals (env MIC_FD_RESERVE; default a quarter of the open-file limit, at least 256)',
      env.MIC_FD_RESERVE,
    )
    .option(
      '--export-options <opts>',
      'exports(5)-style options for every session export: secure|insecure, root_squash|no_root_squash, all_squash, anonuid=N, anongid=N (env MIC_EXPORT_OPTIONS; default insecure,no_root_squash; see docs/security.md)',
      env.MIC_EXPORT_OPTIONS ?? '',
    )
    .option(
      '--export-git <dir>',
      "after each landing, export the project's new heads as commits into <dir>/<org>/<name>.git, branch mic/<name> (env MIC_EXPORT_GIT; needs git)",
      env.MIC_EXPORT_GIT,
    )
    .option(
      '--export-git-interval <seconds>',
      'with --export-git: how often heads landed by other processes are looked for (env MIC_EXPORT_GIT_INTERVAL)',
      env.MIC_EXPORT_GIT_INTERVAL ?? '2',
    )
    .option(
      '--stop-wait <seconds>',
      'on SIGTERM/SIGINT: how long API changes under way may take to finish (answered and audited), then how long their audit writes may take (env MIC_STOP_WAIT)',
      env.MIC_STOP_WAIT ?? '5',
    )
    .option(
      '--busy-poll-us <n>',
      'after RPC activity, keep the event loop polling instead of sleeping for an adaptive window of at most this many microseconds (cuts the wake-up cost of a call at one in flight on a VM whose guest halt-polling is off; costs CPU while calls come; see docs/perf-notes.md); 0: off; auto: 500 on a KVM guest whose guest_halt_poll_ns is 0, else off (env MIC_BUSY_POLL_US)',
      env.MIC_BUSY_POLL_US ?? 'auto',
    )
    .option(
      '--warm-up-calls <n>',
      "before listening, run at most this many synthetic NFS calls (at most 3 s) against a scratch session that is deleted afterwards, so that the first clients' calls do not run cold (see docs/perf-notes.md); 0: off (env MIC_WARM_UP_CALLS)",
      env.MIC_WARM_UP_CALLS ?? '16000', // warm-up.ts WARM_UP_CALLS (not imported: `serve --help` loads no daemon code)
    )
    .option('--log-level <level>', 'pino log level (env MIC_LOG_LEVEL)', process.env.MIC_LOG_LEVEL ?? 'info')
    .option(
      '--log-format <format>',
      'json, pretty or auto: pretty when stdout is a terminal (env MIC_LOG_FORMAT)',
      process.env.MIC_LOG_FORMAT ?? 'auto',
    )
    .action(async (o, cmd: Command) => {
      // the daemon and its logger load only when `mic serve` runs, not for every mic command
      const [{ daemonLogger, logFormatOf }, { startDaemon }, { parseExportOptions }, { requireGit }, { parseBytes }] = await Promise.all([
        import('./log.js'),
        import('../daemon/daemon.js'),
        import('../daemon/export-options.js'),
        import('../git/run.js'),
        import('../store/open-backend.js'),
      ]);
      const log = daemonLogger(o.logLevel, logFormatOf(o.logFormat));
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${o.port}`);
      const apiPort = o.apiPort === 'off' ? null : Number(o.apiPort);
      if (apiPort !== null && (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65535))
        throw new Error(`--api-port: not a port number: ${o.apiPort}`);
      const sealOpt = String(o.sealDelay ?? process.env.MIC_SEAL_DELAY ?? (process.env.MIC_S3_BUCKET ? '3' : 'off'));
      const sealDelay = sealOpt === 'off' ? 0 : Number(sealOpt);
      if (!Number.isFinite(sealDelay) || sealDelay < 0) throw new Error(`--seal-delay: not a number of seconds: ${sealOpt}`);
      const portmapPort = Number(o.portmapPort);
      if (!Number.isInteger(portmapPort) || portmapPort < 0 || portmapPort > 65535)
        throw new Error(`--portmap-port: not a port number: ${o.portmapPort}`);
      const readWaitMs = Number(o.readWait);
      if (!Number.isInteger(readWaitMs) || readWaitMs < 1 || readWaitMs > 600_000)
        throw new Error(`--read-wait: not a number of milliseconds from 1 to 600000: ${o.readWait}`);
      const seconds = (flag: string, v: string): number => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0 || n > 86_400) throw new Error(`${flag}: not a number of seconds from 0 to 86400: ${v}`);
        return Math.round(n * 1000);
      };
      const limits = {
        maxConnections: whole('--max-connections', o.maxConnections, 1),
        maxConnectionsPerAddress: whole('--max-connections-per-address', o.maxConnectionsPerAddress, 1),
        idleTimeoutMs: seconds('--idle-timeout', o.idleTimeout),
        recordTimeoutMs: seconds('--record-timeout', o.recordTimeout),
        mountGoneMs: seconds('--mount-gone', o.mountGone),
        recordMemory: whole('--record-memory', o.recordMemory, 8, 1 << 20) * 1024 * 1024,
        fdReserve: o.fdReserve === undefined ? null : whole('--fd-reserve', o.fdReserve, 0),
      };
      const exportOptions = parseExportOptions(String(o.exportOptions));
      const exportGitDir = o.exportGit ? path.resolve(String(o.exportGit)) : null;
      const exportGitPollMs = Math.max(100, seconds('--export-git-interval', String(o.exportGitInterval)));
      if (exportGitDir) requireGit();
      const allow = String(o.allow)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const loopbackBind = o.bind === 'localhost' || /^127\./.test(o.bind) || o.bind === '::1';
      if (!loopbackBind && !exportOptions.secure && exportOptions.mode === 'none') {
        log.warn(
          { bind: o.bind },
          "NFS port reachable from other hosts with insecure,no_root_squash: any allowed host's user can claim to be root (see docs/security.md)",
        );
      }
      const dataDir = dataDirOf(cmd);
      const list = (v: string | undefined) =>
        v
          ? v
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean)
          : undefined;
      const apiLimits: { maxFilesBody?: number; maxConnections?: number; streamRecheckMs?: number } = {};
      if (o.apiStreamRecheck !== undefined) {
        apiLimits.streamRecheckMs = Number(o.apiStreamRecheck);
        if (!Number.isInteger(apiLimits.streamRecheckMs) || apiLimits.streamRecheckMs < 0)
          throw new Error(`--api-stream-recheck: not a non-negative integer (ms): ${o.apiStreamRecheck}`);
      }
      if (o.apiMaxBody !== undefined) apiLimits.maxFilesBody = parseBytes(o.apiMaxBody);
      if (o.apiMaxConnections !== undefined) {
        apiLimits.maxConnections = Number(o.apiMaxConnections);
        if (!Number.isInteger(apiLimits.maxConnections) || apiLimits.maxConnections < 1)
          throw new Error(`--api-max-connections: not a positive integer: ${o.apiMaxConnections}`);
      }
      if (cmd.getOptionValueSource('apiToken') === 'cli' && typeof o.apiToken === 'string') {
        log.warn('--api-token on the command line is visible to every local user (ps): prefer MIC_API_TOKEN or --api-token-file');
      }
      // the token: given (env or argv), or from a file (created on first start), unless --no-api-token
      const apiToken = typeof o.apiToken === 'string' && o.apiToken ? o.apiToken : undefined;
      const apiTokenFile = o.apiToken === false || apiToken ? undefined : (o.apiTokenFile ?? defaultApiTokenPath(dataDir));
      const daemon = await startDaemon({
        limits,
        exportOptions,
        dataDir,
        bind: o.bind,
        port,
        log,
        apiPort,
        apiBind: o.apiBind,
        apiToken,
        apiTokenFile,
        apiAllowOrigins: list(o.apiAllowOrigin),
        apiAllowHosts: list(o.apiAllowHost),
        apiLimits,
        apiPortOptional: cmd.getOptionValueSource('apiPort') === 'default' && process.env.MIC_API_PORT === undefined,
        sealDelayMs: sealDelay > 0 ? Math.round(sealDelay * 1000) : null,
        exportGitDir: exportGitDir ?? null,
        exportGitPollMs: exportGitPollMs,
        readWaitMs,
        landWaitMs: seconds('--land-wait', o.landWait) || 1,
        stopWaitMs: seconds('--stop-wait', o.stopWait),
        portmap: o.portmap ? { port: portmapPort } : null,
        busyPollUs: o.busyPollUs === 'auto' ? autoBusyPollUs() : whole('--busy-poll-us', o.busyPollUs, 0, 100_000),
        allow,
        warmUpCalls: whole('--warm-up-calls', o.warmUpCalls, 0, 1_000_000),
      });
      // a log reader that went away (EPIPE) must not keep the daemon from stopping
      process.stdout.on('error', () => {});
      const say = (f: () => void) => {
        try {
          f();
        } catch {
          /* logging is best effort here */
        }
      };
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        say(() => log.info({ signal }, 'stopping'));
        daemon.close().then(
          () => {
            say(() => {
              log.info('stopped');
              log.flush();
            });
            process.exit(0);
          },
          (e) => {
            say(() => log.error({ err: e }, 'stop failed'));
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
