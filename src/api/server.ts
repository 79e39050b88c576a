// The HTTP JSON API (node:http). Loopback by default; any other bind address requires a bearer token.
// Every route maps to one SessionService method; errors are { error, message, field?, reason?, conflicts? }
// with 400 (invalid input), 401, 403 (foreign Host or Origin), 404, 405, 409 (state or conflicts), 413,
// 415 (a body that is not JSON); 500 only for server faults.
// Order of checks (guard.ts, limits.ts): Host, Origin, token, route, Content-Type, declared length, the
// session named in the path; only then is the body read, up to the route's limit.
import http from 'node:http';
import net from 'node:net';
import type { Logger } from 'pino';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import { ApiError, httpErrorOf } from './http-errors.js';
import type { SessionService } from '../session/service.js';
import { RequestGuard, hasBody, requireJson } from './guard.js';
import { authenticate } from './principal.js';
import { accessRoutes, gatedService, refuseSimpleBody, type ApiAccess } from './access-routes.js';
import { matchPath } from './route-table.js';
import { DEFAULT_LIMITS, applyServerLimits, checkDeclaredLength, checkingInterval, readJson, type ApiLimits } from './limits.js';
import { WebUi } from '../ui/web-ui.js';
import { scrapeMetrics } from '../metrics/registry.js';
import { taskSessionView } from '../tasks/task-store.js';

export interface ApiServerOptions {
  service: SessionService;
  bind?: string;
  port: number;
  /** required when bind is not a loopback address */
  token?: string;
  log: Logger;
  /** body limits, timeouts, connection cap (limits.ts) */
  limits?: Partial<ApiLimits>;
  /** origins (besides the API's own) whose pages may call the API; "*" any */
  allowOrigins?: string[];
  /** host names (besides IP literals and localhost) the API answers to; "*" any */
  allowHosts?: string[];
  /** users and tokens, grants, the audit log, events, hooks and artifacts (access.ts) */
  access: ApiAccess;
}

export interface ApiServer {
  port: number;
  bind: string;
  /**
   * Stops taking requests and closes idle connections and streams; a change under way (any method but
   * GET/HEAD/OPTIONS) is let finish and answered, waiting at most `waitMs` (default 0), so that a change is
   * not made behind a cut connection with its audit entry lost to the exit. Then the access's onClose hooks
   * run (git jobs still running are audited as interrupted), as long again at most. Resolves the number of
   * changes still under way at the bound (their connections are cut).
   */
  close(waitMs?: number): Promise<number>;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isLoopback(addr: string): boolean {
  if (addr === 'localhost') return true;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  if (net.isIPv4(a)) return a.startsWith('127.');
  return a === '::1';
}

type Handler = (p: {
  params: string[];
  query: URLSearchParams;
  body: () => Promise<unknown>;
}) => Promise<{ status?: number; json?: unknown; raw?: { type: string; data: Buffer } }>;

/** files: the body may carry file contents (the larger limit); the first :id of /api/sessions/:id is checked to exist before the body is read */
interface Route {
  method: string;
  pattern: string[];
  handler: Handler;
  files: boolean;
  session: boolean;
}

const FILE_ROUTES = new Set(['POST /api/sessions', 'POST /api/sessions/:id/files']);

function routes(s: SessionService): Route[] {
  const r = (method: string, path: string, handler: Handler): Route => ({
    method,
    pattern: path.split('/').filter(Boolean),
    handler,
    files: FILE_ROUTES.has(`${method} ${path}`),
    session: path.startsWith('/api/sessions/:id'),
  });
  const q = (query: URLSearchParams, k: string) => query.get(k) ?? undefined;
  return [
    r('POST', '/api/sessions/start', async ({ body }) => {
      const out = await s.start(await body());
      // beside ours, the agent-task view of the new session (no tasks yet): sessionId and metadata
      const { sessionId, metadata } = taskSessionView({ tasks: [], plans: [] }, out.session);
      return { status: 201, json: { sessionId, metadata, ...out } };
    }),
    r('POST', '/api/sessions', async ({ body }) => ({ status: 201, json: await s.create(await body()) })),
    r('GET', '/api/sessions', async ({ query }) => ({
      json: await s.list({
        status: q(query, 'status'),
        type: q(query, 'type'),
        tag: q(query, 'tag'),
        project: q(query, 'project'),
        limit: q(query, 'limit'),
        cursor: q(query, 'cursor'),
        offset: q(query, 'offset'), // refused unless 0 (session-list.ts): the cursor replaced it
      }),
    })),
    r('PATCH', '/api/sessions/:id', async ({ params, body }) => ({ json: await s.patch(params[0], await body()) })),
    r('POST', '/api/sessions/:id/land', async ({ params, body }) => ({ json: await s.land(params[0], await body()) })),
    r('POST', '/api/sessions/:id/files', async ({ params, body }) => ({ json: await s.files(params[0], await body()) })),
    r('POST', '/api/sessions/:id/conversation', async ({ params, body }) => ({
      status: 201,
      json: await s.conversation(params[0], await body()),
    })),
    r('POST', '/api/sessions/:id/decisions', async ({ params, body }) => ({
      status: 201,
      json: await s.decisions(params[0], await body()),
    })),
    r('POST', '/api/sessions/:id/suspend', async ({ params, body }) => ({ json: await s.suspend(params[0], await body()) })),
    r('POST', '/api/sessions/:id/resume', async ({ params, body }) => ({ json: await s.resume(params[0], await body()) })),
    r('POST', '/api/sessions/:id/abandon', async ({ params, body }) => ({ json: await s.abandon(params[0], await body()) })),
    r('POST', '/api/sessions/:id/fail', async ({ params, body }) => ({ json: await s.fail(params[0], await body()) })),
    r('DELETE', '/api/sessions/:id', async ({ params, body }) => ({ json: await s.remove(params[0], await body()) })),
    r('POST', '/api/sessions/:id/interactions', async ({ params, body }) => ({
      status: 201,
      json: await s.interactions(params[0], await body()),
    })),
    r('GET', '/api/current-session', async () => ({ json: await s.getCurrent() })),
    r('PUT', '/api/current-session', async ({ body }) => ({ json: await s.setCurrent(await body()) })),
    r('DELETE', '/api/current-session', async () => ({ json: await s.setCurrent({ session_id: null }) })),
    r('GET', '/api/projects/:org/:name/session-config', async ({ params }) => ({
      json: await s.sessionConfig(`${params[0]}/${params[1]}`),
    })),
    r('PUT', '/api/projects/:org/:name/session-config', async ({ params, body }) => ({
      json: await s.setSessionConfig(`${params[0]}/${params[1]}`, await body()),
    })),
    r('POST', '/api/sessions/:id/rebase', async ({ params, body }) => ({ json: await s.rebase(params[0], await body()) })),
    r('POST', '/api/sessions/:id/handoff', async ({ params, body }) => ({ json: await s.handoff(params[0], await body()) })),
    r('POST', '/api/sessions/:id/serve', async ({ params, body }) => ({ json: await s.serve(params[0], await body()) })),
    r('GET', '/api/sessions/:id/changes', async ({ params, query }) => ({
      json: await s.changes(params[0], { content: q(query, 'content') }),
    })),
    r('GET', '/api/sessions/:id/diff', async ({ params, query }) => {
      const d = await s.diff(params[0]);
      if (query.get('format') === 'text') return { raw: { type: 'text/x-diff; charset=utf-8', data: Buffer.from(d.diff, 'utf8') } };
      return { json: d };
    }),
    r('GET', '/api/sessions/:id/timeline', async ({ params }) => {
      const d = await s.get(params[0]);
      return { json: { session_id: d.session.session_id, timeline: d.session.timeline } };
    }),
    r('GET', '/api/projects/:org/:name/head', async ({ params }) => ({ json: await s.head(`${params[0]}/${params[1]}`) })),
    r('GET', '/api/projects/:org/:name/log', async ({ params, query }) => ({
      json: await s.log(`${params[0]}/${params[1]}`, { limit: q(query, 'limit'), before: q(query, 'before') }),
    })),
    r('GET', '/api/projects/:org/:name/heads/:head', async ({ params }) => ({
      json: await s.showHead(`${params[0]}/${params[1]}`, params[2]),
    })),
    r('GET', '/api/projects/:org/:name/blame', async ({ params, query }) => {
      const path = query.get('path');
      if (path === null) throw new InvalidInputError('path', 'is required');
      return { json: await s.blame(`${params[0]}/${params[1]}`, path) };
    }),
  ];
}

function match(route: Route, parts: string[]): string[] | null {
  if (route.pattern.length !== parts.length) return null;
  const params: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = route.pattern[i];
    if (p.startsWith(':')) params.push(parts[i]);
    else if (p !== parts[i]) return null;
  }
  return params;
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const bind = o.bind ?? '127.0.0.1';
  if (!isLoopback(bind) && !o.token) {
    throw new Error(`the API binds ${bind}, which is not a loopback address: give --api-token (or MIC_API_TOKEN)`);
  }
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const ui = new WebUi({ service: o.service, token: o.token, log: o.log, identity: o.access, streamRecheckMs: limits.streamRecheckMs }); // pages and /ui/: src/ui/
  const guard = new RequestGuard({ auth: ui.auth, allowOrigins: o.allowOrigins, allowHosts: o.allowHosts });
  const extra = accessRoutes(o.service, o.access);

  /** connections with a change under way (see close), and every open connection */
  const changing = new Map<net.Socket, Promise<void>>();
  const sockets = new Set<net.Socket>();
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const send = (status: number, json: unknown) => {
      const data = Buffer.from(JSON.stringify(json) + '\n', 'utf8');
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length });
      res.end(data);
    };
    const fail = (e: unknown) => {
      if (res.headersSent) return void res.destroy();
      // a body left unread (refused before reading, or cut off at the limit) is never read: close instead
      if (!req.complete && hasBody(req)) res.setHeader('connection', 'close');
      const known = httpErrorOf(e);
      if (known) {
        if (known.status === 401) res.setHeader('www-authenticate', 'Bearer');
        if (known.status === 403)
          o.log.warn(
            { method: req.method, url: req.url, host: req.headers.host, origin: req.headers.origin, reason: known.body.error },
            'api request refused',
          );
        return send(known.status, known.body);
      }
      o.log.error({ err: e, method: req.method, url: req.url }, 'api request failed');
      send(500, { error: 'internal', message: (e as Error)?.message ?? String(e) });
    };
    const done = (async () => {
      guard.checkHost(req); // DNS rebinding: the UI's pages too
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/metrics' && ui.owns(url.pathname)) return ui.handle(req, res, url); // its own login and same-origin rules: src/ui/auth.ts
      guard.checkOrigin(req);
      const principal = await authenticate(req, ui.auth, o.access);
      let parts: string[];
      try {
        parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        throw new InvalidInputError('path', 'is not valid percent-encoding');
      }
      if (url.pathname === '/metrics' && req.method === 'GET') {
        const { contentType, text } = await scrapeMetrics(); // Prometheus text format: src/metrics/
        const data = Buffer.from(text, 'utf8');
        res.writeHead(200, { 'content-type': contentType, 'content-length': data.length });
        res.end(data);
        return;
      }
      for (const r of extra) {
        const params = r.method === req.method ? matchPath(r.path, parts) : null;
        if (!params) continue;
        if (r.rawBody) refuseSimpleBody(req);
        else {
          requireJson(req);
          checkDeclaredLength(req, limits.maxBody);
        }
        const out = await r.handler({
          params,
          query: url.searchParams,
          req,
          res,
          principal,
          body: () => readJson(req, limits.maxBody),
          reauthenticate: (asOf) => ui.auth.recheck(req, o.access, limits.streamRecheckMs, asOf),
          recheckMs: limits.streamRecheckMs,
        });
        if ('streamed' in out) return;
        if (!req.complete && hasBody(req)) res.setHeader('connection', 'close');
        return send(out.status ?? 200, out.json);
      }
      // the session routes go through the gate: the caller's rights, the audit log, the events
      const table = routes(gatedService(o.service, principal, o.access));
      const found = table.map((r) => ({ r, params: match(r, parts) })).filter((x) => x.params !== null);
      if (!found.length) throw new ApiError(404, { error: 'not_found', message: `no route ${url.pathname}` });
      const hit = found.find((x) => x.r.method === req.method);
      if (!hit) {
        res.setHeader('allow', [...new Set(found.map((x) => x.r.method))].join(', '));
        throw new ApiError(405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${url.pathname}` });
      }
      const max = hit.r.files ? limits.maxFilesBody : limits.maxBody;
      requireJson(req);
      checkDeclaredLength(req, max);
      if (hit.r.session && !(await o.service.catalog.projectOf(hit.params![0]!))) {
        throw new NotFoundError('session', `session ${JSON.stringify(hit.params![0])} not found`);
      }
      let bodyP: Promise<unknown> | null = null;
      const body = () => {
        if (!bodyP) {
          if (req.headers.expect?.toLowerCase() === '100-continue' && hasBody(req)) res.writeContinue();
          bodyP = readJson(req, max);
        }
        return bodyP;
      };
      const out = await hit.r.handler({ params: hit.params!, query: url.searchParams, body });
      if (!req.complete && hasBody(req)) res.setHeader('connection', 'close'); // a body the route never read
      if (out.raw) {
        res.writeHead(out.status ?? 200, { 'content-type': out.raw.type, 'content-length': out.raw.data.length });
        res.end(out.raw.data);
      } else send(out.status ?? 200, out.json);
    })().catch(fail);
    if (READS.has(req.method ?? 'GET')) return;
    // under way until the handler settled and its answer went out (or the connection was cut)
    const socket = req.socket;
    const answered = new Promise<void>((r) => res.once('close', r));
    const settled = Promise.all([done, answered]).then(() => {
      if (changing.get(socket) === settled) changing.delete(socket);
    });
    changing.set(socket, settled);
  };
  const server = http.createServer({ connectionsCheckingInterval: checkingInterval(limits) }, handle);
  // Expect: 100-continue goes through the same checks: the client is told to send its body only once
  // the route, the caller and the session are known to be good
  server.on('checkContinue', handle);
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  applyServerLimits(server, limits);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, bind, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
  o.log.info({ port, bind }, 'api listening');
  return {
    port,
    bind,
    close: async (waitMs = 0) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // reads (event streams, downloads, pages) are cut at once; changes under way are let finish
      for (const socket of sockets) if (!changing.has(socket)) socket.destroy();
      if (changing.size && waitMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((r) => (timer = setTimeout(r, waitMs)));
        await Promise.race([Promise.allSettled([...changing.values()]), bound]);
        clearTimeout(timer);
      }
      const left = changing.size;
      server.closeAllConnections();
      await closed;
      // what routes left running past their answer (git jobs) is accounted for: audited as interrupted
      const hooks = [...(o.access.onClose ?? [])];
      if (hooks.length) {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((r) => (timer = setTimeout(r, Math.max(waitMs, 1))));
        await Promise.race([Promise.allSettled(hooks.map((f) => f())), bound]);
        clearTimeout(timer);
      }
      return left;
    },
  };
}
