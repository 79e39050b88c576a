// The HTTP JSON API (node:http). Loopback by default; any other bind address requires a bearer token.
// Every route maps to one SessionService method; errors are { error, message, field?, reason?, conflicts? }
// with 400 (invalid input), 401, 404, 405, 409 (state or conflicts), 413; 500 only for server faults.
import http from 'node:http';
import net from 'node:net';
import type { Logger } from 'pino';
import { ApiError } from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import { isHash } from '../store/index.js';
import { projectParam } from '../session/input.js';
import { gcRequest } from '../session/gc.js';
import { WebUi, forbidden } from '../ui/web-ui.js';
import { isSafeMethod, sameOrigin } from '../ui/auth.js';

export interface ApiServerOptions {
  service: SessionService;
  bind?: string;
  port: number;
  /** required when bind is not a loopback address */
  token?: string;
  log: Logger;
  /** request body limit in bytes (default 256 MiB) */
  maxBody?: number;
}

export interface ApiServer { port: number; bind: string; close(): Promise<void> }

export function isLoopback(addr: string): boolean {
  if (addr === 'localhost') return true;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  if (net.isIPv4(a)) return a.startsWith('127.');
  return a === '::1';
}

type Handler = (p: { params: string[]; query: URLSearchParams; body: () => Promise<unknown> }) => Promise<{ status?: number; json?: unknown; raw?: { type: string; data: Buffer } }>;

interface Route { method: string; pattern: string[]; handler: Handler }

function routes(s: SessionService): Route[] {
  const r = (method: string, path: string, handler: Handler): Route => ({ method, pattern: path.split('/').filter(Boolean), handler });
  const q = (query: URLSearchParams, k: string) => query.get(k) ?? undefined;
  return [
    r('POST', '/api/sessions/start', async ({ body }) => ({ status: 201, json: await s.start(await body()) })),
    r('POST', '/api/sessions', async ({ body }) => ({ status: 201, json: await s.create(await body()) })),
    r('GET', '/api/sessions', async ({ query }) => ({
      json: await s.list({ status: q(query, 'status'), tag: q(query, 'tag'), project: q(query, 'project'), limit: q(query, 'limit'), offset: q(query, 'offset') }),
    })),
    r('GET', '/api/sessions/:id', async ({ params }) => ({ json: await s.get(params[0]) })),
    r('PATCH', '/api/sessions/:id', async ({ params, body }) => ({ json: await s.patch(params[0], await body()) })),
    r('POST', '/api/sessions/:id/land', async ({ params, body }) => ({ json: await s.land(params[0], await body()) })),
    r('POST', '/api/sessions/:id/files', async ({ params, body }) => ({ json: await s.files(params[0], await body()) })),
    r('POST', '/api/sessions/:id/conversation', async ({ params, body }) => ({ status: 201, json: await s.conversation(params[0], await body()) })),
    r('POST', '/api/sessions/:id/decisions', async ({ params, body }) => ({ status: 201, json: await s.decisions(params[0], await body()) })),
    r('POST', '/api/sessions/:id/suspend', async ({ params }) => ({ json: await s.suspend(params[0]) })),
    r('POST', '/api/sessions/:id/resume', async ({ params }) => ({ json: await s.resume(params[0]) })),
    r('POST', '/api/sessions/:id/abandon', async ({ params }) => ({ json: await s.abandon(params[0]) })),
    r('POST', '/api/sessions/:id/rebase', async ({ params }) => ({ json: await s.rebase(params[0]) })),
    r('POST', '/api/sessions/:id/handoff', async ({ params }) => ({ json: await s.handoff(params[0]) })),
    r('POST', '/api/sessions/:id/serve', async ({ params, body }) => ({ json: await s.serve(params[0], await body()) })),
    r('GET', '/api/sessions/:id/changes', async ({ params, query }) => ({ json: await s.changes(params[0], { content: q(query, 'content') }) })),
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
    r('GET', '/api/projects/:org/:name/heads/:head', async ({ params }) => ({ json: await s.showHead(`${params[0]}/${params[1]}`, params[2]) })),
    r('GET', '/api/projects/:org/:name/blame', async ({ params, query }) => {
      const path = query.get('path');
      if (path === null) throw ApiError.invalid('path', 'is required');
      return { json: await s.blame(`${params[0]}/${params[1]}`, path) };
    }),
    r('POST', '/api/gc', async ({ body }) => ({ json: await gcRequest(s.catalog.backend, await body()) })),
    r('GET', '/api/projects/:org/:name/blobs/:hash', async ({ params }) => {
      const project = projectParam(params[0], params[1]);
      if (!isHash(params[2])) throw ApiError.invalid('hash', 'must be a SHA-256 hex digest');
      const store = s.catalog.store(project);
      if (!(await store.hasBlob(params[2]))) throw ApiError.notFound('blob');
      return { raw: { type: 'application/octet-stream', data: await store.getBlob(params[2]) } };
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
  const maxBody = o.maxBody ?? 256 * 1024 * 1024;
  const table = routes(o.service);
  const ui = new WebUi({ service: o.service, token: o.token, log: o.log }); // pages and /ui/: src/ui/

  const server = http.createServer((req, res) => {
    const send = (status: number, json: unknown) => {
      const data = Buffer.from(JSON.stringify(json) + '\n', 'utf8');
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length });
      res.end(data);
    };
    const fail = (e: unknown) => {
      if (e instanceof ApiError) return send(e.status, e.body);
      o.log.error({ err: e, method: req.method, url: req.url }, 'api request failed');
      send(500, { error: 'internal', message: (e as Error)?.message ?? String(e) });
    };
    (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (ui.owns(url.pathname)) return ui.handle(req, res, url);
      if (!ui.auth.allows(req)) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new ApiError(401, { error: 'unauthorized', message: 'a valid bearer token is required' });
      }
      if (!isSafeMethod(req.method) && !sameOrigin(req)) throw forbidden();
      let parts: string[];
      try {
        parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        throw ApiError.invalid('path', 'is not valid percent-encoding');
      }
      const found = table.map((r) => ({ r, params: match(r, parts) })).filter((x) => x.params !== null);
      if (!found.length) throw new ApiError(404, { error: 'not_found', message: `no route ${url.pathname}` });
      const hit = found.find((x) => x.r.method === req.method);
      if (!hit) {
        res.setHeader('allow', [...new Set(found.map((x) => x.r.method))].join(', '));
        throw new ApiError(405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${url.pathname}` });
      }
      let bodyP: Promise<unknown> | null = null;
      const body = () => (bodyP ??= readJson(req, maxBody));
      const out = await hit.r.handler({ params: hit.params!, query: url.searchParams, body });
      if (out.raw) {
        res.writeHead(out.status ?? 200, { 'content-type': out.raw.type, 'content-length': out.raw.data.length });
        res.end(out.raw.data);
      } else send(out.status ?? 200, out.json);
    })().catch(fail);
  });
  server.keepAliveTimeout = 5000;
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
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > max) {
        failed = true;
        reject(new ApiError(413, { error: 'too_large', message: `request body is larger than ${max} bytes` }));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('error', (e) => { if (!failed) { failed = true; reject(e); } });
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(ApiError.invalid('body', `is not valid JSON (${(e as Error).message})`));
      }
    });
  });
}
