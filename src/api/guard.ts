// Who may talk to the HTTP API, checked before a route runs or a body is read. Reusable by anything served
// on the API port (the web UI included):
//   Host    must name this server: an IP literal, "localhost", or a configured name (--api-allow-host).
//           A web page that rebinds its own DNS name to 127.0.0.1 sends its name here (DNS rebinding).
//   Origin  browsers send it on every non-GET request: it must be this server's own origin (same-origin,
//           e.g. the UI) or a configured one (--api-allow-origin). Sec-Fetch-Site (sent by browsers on every
//           request) must say same-origin or none (typed by the user) unless the origin is configured.
//   Auth    a bearer token (Authorization: Bearer <token>), or the same token in the mic_token cookie the
//           web UI's login sets (HttpOnly, SameSite=Strict): one check for both, src/ui/auth.ts.
//   Body    a request body must be application/json: a form or a text/plain fetch (which a page may send
//           cross-origin without a CORS preflight) is refused with 415.
import type http from 'node:http';
import net from 'node:net';
import { ApiError } from './http-errors.js';
import type { UiAuth } from '../ui/auth.js';

export interface GuardOptions {
  /** the token check (bearer or login cookie), shared with the web UI */
  auth: UiAuth;
  /** extra origins allowed to call the API, e.g. "https://ui.example.com"; "*" allows any */
  allowOrigins?: string[];
  /** extra host names the API answers to (beyond IP literals and localhost); "*" allows any */
  allowHosts?: string[];
}

export class RequestGuard {
  private readonly auth: UiAuth;
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;

  constructor(o: GuardOptions) {
    this.auth = o.auth;
    this.origins = new Set((o.allowOrigins ?? []).map((s) => s.trim().replace(/\/+$/, '').toLowerCase()).filter(Boolean));
    this.hosts = new Set((o.allowHosts ?? []).map((s) => s.trim().toLowerCase()).filter(Boolean));
  }

  /** Every check that needs only the headers, in order: host, origin, token. Throws ApiError (403, 401). */
  check(req: http.IncomingMessage): void {
    this.checkHost(req);
    this.checkOrigin(req);
    this.checkAuth(req);
  }

  checkHost(req: http.IncomingMessage): void {
    const host = req.headers.host;
    if (host === undefined || this.hosts.has('*')) return; // HTTP/1.0 clients; browsers always send Host
    const name = hostName(host);
    if (name !== null && (net.isIP(name) || name === 'localhost' || this.hosts.has(name))) return;
    throw new ApiError(403, {
      error: 'forbidden_host',
      message: `the API does not answer to host ${JSON.stringify(host)}; use an IP address or localhost, or allow the name with --api-allow-host`,
    });
  }

  checkOrigin(req: http.IncomingMessage): void {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (origin === undefined && (site === undefined || site === 'same-origin' || site === 'none')) return;
    if (origin !== undefined && this.originAllowed(origin.toLowerCase(), req)) return;
    throw new ApiError(403, {
      error: 'forbidden_origin',
      message: `requests from ${origin ?? `a ${site} page`} are not allowed; allow the origin with --api-allow-origin`,
    });
  }

  private originAllowed(origin: string, req: http.IncomingMessage): boolean {
    if (this.origins.has('*') || this.origins.has(origin)) return true;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    // same-origin: the page was served by this API (the Host header has passed checkHost)
    const host = req.headers.host?.toLowerCase();
    return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`); // https: behind a TLS proxy
  }

  checkAuth(req: http.IncomingMessage): void {
    if (this.auth.allows(req)) return;
    throw new ApiError(401, { error: 'unauthorized', message: 'a valid bearer token is required (mic finds it in <data-dir>/api-token)' });
  }
}

/** Throws 415 unless the request's body (if it has one) is declared application/json. */
export function requireJson(req: http.IncomingMessage): void {
  if (!hasBody(req)) return;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return;
  throw new ApiError(415, {
    error: 'unsupported_media_type',
    message: `request bodies must be application/json${type ? `, not ${type}` : ' (no Content-Type given)'}`,
  });
}

/** Does the request carry a body (a non-zero Content-Length, or chunked)? */
export function hasBody(req: http.IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len.trim() !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The host name of a Host header without its port (IPv6 without brackets), lowercased; null if malformed. */
export function hostName(host: string): string | null {
  const h = host.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
  if (v6) return v6[1]!;
  const m = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]!.replace(/\.$/, '') : null;
}
