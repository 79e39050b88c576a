// The web UI's server side, mounted on the API server (src/api/server.ts) for every path outside /api/:
// the page (one HTML shell; the bundle renders each view), its assets, the login form, and the JSON and
// server-sent events the pages read under /ui/api/. The pages' actions use the API itself.
import type http from 'node:http';
import type { Logger } from 'pino';
import {
  ForbiddenError,
  InvalidInputError,
  MethodNotAllowedError,
  NotFoundError,
  TooLargeError,
  UnauthorizedError,
  type DomainError,
} from '../session/errors.js';
import type { SessionService } from '../session/service.js';
import { UiAuth, sameOrigin, type UiIdentity } from './auth.js';
import { checkAccess, effectiveRight, type Principal, type Target } from '../identity/access.js';
import type { GrantStore } from '../identity/grant-store.js';
import { sessionPageData, sessionRecord } from './session-data.js';
import { loadAssets, loginHtml, pageHeaders, sendAsset, shellHtml, type Asset } from './assets.js';
import { compareHeads, headLog, listSessions, projectName, rawFile, treeAt } from './data.js';
import { blameLines } from './blame.js';
import { isHash } from '../store/index.js';
import { serveEvents } from './sse.js';

export interface WebUiOptions {
  service: SessionService;
  token?: string;
  log: Logger;
  /** users, their tokens and grants: the login form then takes a user's token too */
  identity?: UiIdentity & { grants?: GrantStore };
  /** how long an open page's event stream trusts its last credential check (ms; api/limits.ts) */
  streamRecheckMs?: number;
}

const PAGE = /^\/(?:$|sessions\/[^/]+\/?$|projects\/[^/]+\/[^/]+(?:\/.*)?$)/;

export class WebUi {
  readonly auth: UiAuth;
  private readonly assets: Map<string, Asset>;
  private readonly shell: string;
  private readonly modules: string[];

  constructor(private readonly o: WebUiOptions) {
    this.auth = new UiAuth(o.token);
    this.assets = loadAssets();
    if (!this.assets.size) o.log.warn('web UI assets are missing (dist/ui-assets): run npm run build');
    // the chunks app.js imports statically: asked for with the page, not after app.js is parsed
    const app = this.assets.get('app.js')?.data.toString('utf8') ?? '';
    this.modules = [...app.matchAll(/from"\.\/([\w-]+\.js)"/g)].map((m) => `/assets/${m[1]}`).filter((u, i, all) => all.indexOf(u) === i);
    this.shell = shellHtml(this.assets, this.auth.required, [], this.modules);
  }

  /** The session page asks for the session, its changes and the markdown chunk first thing: the browser
   *  fetches them while it loads the script (the URLs are exactly the ones ui/pages/session.ts requests). */
  private shellFor(pathname: string, who: Principal): string {
    const user = this.auth.required && who.tokenId !== 'daemon' ? who.user : undefined;
    const m = /^\/sessions\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\/?$/.exec(pathname);
    if ((!m && !user) || !this.assets.size) return this.shell;
    return shellHtml(this.assets, this.auth.required, m ? [`/ui/api/sessions/${m[1]}`] : [], this.modules, user);
  }

  /** The caller, or null when it proves no identity (no token, a wrong one, a revoked one). */
  private async caller(req: http.IncomingMessage): Promise<Principal | null> {
    try {
      return await this.auth.authenticate(req, this.o.identity);
    } catch (e) {
      if (e instanceof UnauthorizedError) return null;
      throw e;
    }
  }

  /** Throws Forbidden unless the caller may read `t` (identity/access.ts decides, as for the API). */
  private canRead(who: Principal, t: Target): Promise<void> {
    return checkAccess(who, 'read', t, this.o.identity?.grants);
  }

  /** Paths the UI answers: everything but the JSON API. */
  owns(pathname: string): boolean {
    return pathname !== '/api' && !pathname.startsWith('/api/');
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = url.pathname;
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    if (p.startsWith('/assets/')) {
      const a = this.assets.get(p.slice('/assets/'.length));
      if (!a || !get) throw new NotFoundError('page', `no asset ${p}`);
      return sendAsset(req, res, a, url.searchParams.has('v') || /-[A-Z0-9]{8}\.js$/.test(p)); // chunk names carry their hash
    }
    if (p === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (p === '/login') return this.login(req, res, url);
    if (p === '/logout' && method === 'POST') {
      if (!sameOrigin(req)) throw forbidden();
      res.writeHead(303, { location: '/login', 'set-cookie': this.auth.clearCookie() });
      res.end();
      return;
    }
    const page = get && PAGE.test(p);
    const who = await this.caller(req);
    if (!who) {
      if (page) {
        res.writeHead(303, { location: `/login?next=${encodeURIComponent(p + url.search)}` });
        res.end();
        return;
      }
      throw new UnauthorizedError('a valid bearer token or login is required');
    }
    if (page) {
      res.writeHead(200, pageHeaders());
      res.end(method === 'HEAD' ? undefined : this.shellFor(p, who));
      return;
    }
    if (!get) throw new MethodNotAllowedError(method, p);
    if (p.startsWith('/ui/')) return this.data(req, res, url, who);
    throw new NotFoundError('page', `no page ${p}`);
  }

  private async data(req: http.IncomingMessage, res: http.ServerResponse, url: URL, who: Principal): Promise<void> {
    const s = this.o.service;
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new InvalidInputError('path', 'is not valid percent-encoding');
    }
    const q = (k: string) => url.searchParams.get(k) ?? undefined;
    const json = (body: unknown) => {
      const data = Buffer.from(JSON.stringify(body), 'utf8');
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, 'cache-control': 'no-store' });
      res.end(data);
    };
    const [ui, kind, ...rest] = parts;
    if (ui !== 'ui') throw notFound(url);
    if (kind === 'raw' && rest.length === 3) {
      await this.canRead(who, { project: projectName(rest[0], rest[1]) });
      const f = await rawFile(s, projectName(rest[0], rest[1]), rest[2], q('path') ?? null);
      const it = f.pieces[Symbol.asyncIterator]();
      const first = await it.next(); // a store error before the headers still answers as an error
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': f.size,
        'content-disposition': `attachment; filename="${f.name.replace(/[^A-Za-z0-9._-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(f.name)}`,
        'content-security-policy': "default-src 'none'; sandbox",
        'x-content-type-options': 'nosniff',
      });
      try {
        for (let r = first; !r.done; r = await it.next()) {
          if (!res.write(r.value))
            await new Promise((ok) => {
              res.once('drain', ok);
              res.once('close', ok);
            });
          if (res.destroyed) return;
        }
        res.end();
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message, url: url.pathname }, 'raw download failed midway');
        res.destroy();
      }
      return;
    }
    if (kind !== 'api') throw notFound(url);
    const [what, ...args] = rest;
    if (what === 'sessions' && args.length === 1) {
      const r = await sessionRecord(s, args[0]);
      await this.canRead(who, { project: r.project, session: r.session_id });
      const { body, etag } = await sessionPageData(s, r);
      if (etag && req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag, 'cache-control': 'no-cache' });
        res.end();
        return;
      }
      const data = Buffer.from(JSON.stringify(body), 'utf8');
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': data.length,
        ...(etag ? { etag, 'cache-control': 'no-cache' } : { 'cache-control': 'no-store' }), // ended: revalidate, else never keep
      });
      res.end(method(req) === 'HEAD' ? undefined : data);
      return;
    }
    if (what === 'sessions' && args.length === 0) {
      const readable = async (project: string) => (await effectiveRight(who, { project }, this.o.identity?.grants)) !== null;
      return json(
        await listSessions(
          s,
          {
            project: q('project'),
            status: q('status'),
            tag: q('tag'),
            q: q('q'),
            limit: q('limit'),
            cursor: q('cursor'),
          },
          readable,
        ),
      );
    }
    if (what === 'events' && args.length === 0) {
      const project = q('project');
      const session = q('session');
      const r = session ? await sessionRecord(s, session) : null;
      const target = r ? { project: r.project, session: r.session_id } : project ? { project } : {};
      await this.canRead(who, target);
      // the page's token may be revoked while the page stays open: the stream ends then (stream-watch.ts)
      const everyMs = this.o.streamRecheckMs ?? 2000;
      const allowed = async (asOf: (t: number) => void) => {
        const now = await this.auth.recheck(req, this.o.identity, everyMs, asOf);
        if (now.user !== who.user) return false;
        await this.canRead(now, target);
        return true;
      };
      serveEvents(req, res, s.catalog.events, { session: q('session'), project }, { allowed, everyMs });
      return;
    }
    if (what === 'projects' && args.length >= 3) {
      const project = projectName(args[0], args[1]);
      await this.canRead(who, { project });
      const op = args[2];
      if (op === 'blobs' && args.length === 4) return this.blob(req, res, project, args[3]!);
      if (op === 'log' && args.length === 3) return json(await headLog(s, project, { limit: q('limit'), before: q('before') }));
      if (op === 'tree' && args.length === 4) return json(await treeAt(s, project, args[3], q('path') ?? null));
      if (op === 'blame' && args.length === 4) return json(await blameLines(s, project, args[3], q('path') ?? ''));
      if (op === 'compare' && args.length === 3) {
        const a = q('a'),
          b = q('b');
        if (!a || !b) throw new InvalidInputError(a ? 'b' : 'a', 'is required (a head hash, prefix or HEAD)');
        return json(await compareHeads(s, project, a, b));
      }
    }
    throw notFound(url);
  }

  /** A blob by its hash: it can never change, so the browser keeps it (a change opened again, or after a
   *  live refresh, costs no request). Private: it was read with the caller's rights. */
  private async blob(req: http.IncomingMessage, res: http.ServerResponse, project: string, hash: string): Promise<void> {
    if (!isHash(hash)) throw new InvalidInputError('hash', 'must be a SHA-256 hex digest');
    const headers = { etag: `"${hash}"`, 'cache-control': 'private, max-age=31536000, immutable' };
    const store = this.o.service.catalog.store(project);
    if (!(await store.hasBlob(hash))) throw new NotFoundError('blob', `no blob ${hash} in ${project}`);
    if (req.headers['if-none-match'] === headers.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const data = await store.getBlob(hash);
    res.writeHead(200, {
      ...headers,
      'content-type': 'application/octet-stream',
      'content-length': data.length,
      'x-content-type-options': 'nosniff',
    });
    res.end(method(req) === 'HEAD' ? undefined : data);
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const next = safeNext(url.searchParams.get('next'));
    const page = (status: number, error: string | null, nextPath: string, cookie?: string) => {
      res.writeHead(status, { ...pageHeaders(), ...(cookie ? { 'set-cookie': cookie } : {}) });
      res.end(loginHtml(this.assets, nextPath, error));
    };
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (!this.auth.required) {
        res.writeHead(303, { location: next });
        res.end();
        return;
      }
      return page(200, null, next);
    }
    if (req.method !== 'POST') throw new MethodNotAllowedError(req.method ?? '?', '/login');
    if (!sameOrigin(req)) throw forbidden();
    const form = new URLSearchParams(await readSmall(req, 16 * 1024));
    const to = safeNext(form.get('next'));
    if (!this.auth.required) {
      res.writeHead(303, { location: to });
      res.end();
      return;
    }
    const token = (form.get('token') ?? '').trim();
    const who = token ? await this.auth.principalOf(token, this.o.identity) : null;
    if (!who) {
      this.o.log.warn({ remote: req.socket.remoteAddress }, 'web UI login with a wrong token');
      return page(401, 'That token is neither the API token nor a valid user token (it may be revoked or expired).', to);
    }
    this.o.log.info({ user: who.user, token: who.tokenId, remote: req.socket.remoteAddress }, 'web UI login');
    res.writeHead(303, { location: to, 'set-cookie': this.auth.setCookie(token), 'cache-control': 'no-store' });
    res.end();
  }
}

/** Where to go after login: a path on this site only (no //host, no scheme). */
function safeNext(v: string | null): string {
  if (!v || !v.startsWith('/') || v.startsWith('//') || v.includes('\\')) return '/';
  return v;
}

const method = (req: http.IncomingMessage) => req.method ?? 'GET';

function notFound(url: URL): DomainError {
  return new NotFoundError('page', `no route ${url.pathname}`);
}

export function forbidden(): DomainError {
  return new ForbiddenError('cross-origin request refused: mutating requests must come from this site');
}

function readSmall(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new TooLargeError(`form is larger than ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
