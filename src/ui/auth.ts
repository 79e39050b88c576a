// Who may use the web UI and the API: the same token either way. Without a configured token (loopback
// binds) everyone on the machine may; with one, a request carries it as `Authorization: Bearer` or in the
// HttpOnly, SameSite=Strict `mic_token` cookie that the login form sets (scripts cannot read it, and a
// browser never sends it with another site's request). Mutating requests must also come from this origin.
// (The cookie's name and form match the API guard on branch http, so that one check can serve both.)
import type http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';

export const COOKIE = 'mic_token';
const COOKIE_MAX_AGE = 30 * 24 * 3600;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class UiAuth {
  private readonly tokenDigest: Buffer | null;

  constructor(private readonly token?: string) {
    this.tokenDigest = token ? digest(token) : null;
  }

  /** A token is configured: requests must prove they know it. */
  get required(): boolean {
    return this.tokenDigest !== null;
  }

  /** True when the token matches (constant time). */
  tokenMatches(given: string): boolean {
    return this.tokenDigest !== null && timingSafeEqual(digest(given.trim()), this.tokenDigest);
  }

  /** The request carries the bearer token or the login cookie (or no token is configured). */
  allows(req: http.IncomingMessage): boolean {
    if (!this.required) return true;
    const given = this.credential(req);
    return given !== null && this.tokenMatches(given);
  }

  /** The token a request carries: the bearer token, else the login cookie; null when none. */
  credential(req: http.IncomingMessage): string | null {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (m) return m[1]!.trim();
    const c = cookies(req)[COOKIE];
    if (c === undefined) return null;
    try {
      return decodeURIComponent(c);
    } catch {
      return null; // malformed percent-encoding
    }
  }

  /** Set-Cookie for a successful login; clear() for logout. */
  setCookie(): string {
    return `${COOKIE}=${encodeURIComponent(this.token ?? '')}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${COOKIE_MAX_AGE}`;
  }

  clearCookie(): string {
    return `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}

export function cookies(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string | undefined): boolean {
  return SAFE.has(method ?? 'GET');
}

/**
 * A mutating request is accepted from this origin or from a client that is not a browser (no Origin and
 * no Sec-Fetch-Site: the CLI, curl). A browser names the page's origin on every POST: another site's
 * page (a form, a fetch with a "simple" content type) is refused, cookie or not.
 */
export function sameOrigin(req: http.IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (!host) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}
