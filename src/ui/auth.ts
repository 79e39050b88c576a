// Who may use the web UI and the API: the same tokens either way. Without a configured daemon token
// (loopback binds) everyone on the machine may; with one, a request carries a token as `Authorization:
// Bearer` or in the HttpOnly, SameSite=Strict `mic_token` cookie that the login form sets (scripts cannot
// read it, and a browser never sends it with another site's request). The token is the daemon's own
// (every right) or a user's (`mic_…`, identity/): the pages and actions then run with that user's rights.
// Mutating requests must also come from this origin.
import type http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { daemonPrincipal, type Principal } from '../identity/access.js';
import { UnauthenticatedError } from '../identity/errors.js';
import { TOKEN_PREFIX, type TokenStore } from '../identity/token-store.js';
import type { UserStore } from '../identity/user-store.js';
import { SharedLookups } from '../events/stream-watch.js';

/** Where user tokens are checked (absent: only the daemon token is known). */
export interface UiIdentity {
  users: UserStore;
  tokens: TokenStore;
}

export const COOKIE = 'mic_token';
const COOKIE_MAX_AGE = 30 * 24 * 3600;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class UiAuth {
  private readonly tokenDigest: Buffer | null;
  /** the look-ups of open streams' rechecks, one per credential per interval (stream-watch.ts) */
  private readonly rechecks = new SharedLookups<Principal>();

  constructor(token?: string) {
    this.tokenDigest = token ? digest(token) : null;
  }

  /** Who a request acts as: the daemon (its token, or no token configured and none given) or the user
   *  whose token it carries; Unauthenticated otherwise. A user token is looked up on every request, so a
   *  revocation holds at once. */
  async authenticate(req: http.IncomingMessage, id?: UiIdentity): Promise<Principal> {
    const given = this.credential(req);
    if (given === null && !this.required) return daemonPrincipal();
    const p = given === null ? null : await this.principalOf(given, id);
    if (p) return p;
    if (given !== null && given.startsWith(TOKEN_PREFIX) && id) throw new UnauthenticatedError('the token is unknown, revoked or expired');
    throw new UnauthenticatedError('a valid bearer token is required (mic finds it in <data-dir>/api-token)');
  }

  /**
   * authenticate() for the recheck of a long-lived stream (an event stream): one look-up of a credential per
   * maxAgeMs, shared by every stream that holds it; asOf hears when the look-up began.
   */
  recheck(req: http.IncomingMessage, id: UiIdentity | undefined, maxAgeMs: number, asOf?: (startedAt: number) => void): Promise<Principal> {
    const given = this.credential(req);
    const key = given === null ? '' : digest(given).toString('hex');
    return this.rechecks.get(key, maxAgeMs, () => this.authenticate(req, id), asOf);
  }

  /** The principal a token stands for, or null when it stands for none. */
  async principalOf(given: string, id?: UiIdentity): Promise<Principal | null> {
    if (this.tokenMatches(given)) return daemonPrincipal();
    if (!id || !given.startsWith(TOKEN_PREFIX)) return null;
    const rec = await id.tokens.verify(given);
    const user = rec ? await id.users.get(rec.user) : null;
    if (!rec || !user) return null;
    return { user: user.name, roles: user.roles, tokenScope: rec.scope, tokenRight: rec.right, tokenId: rec.id };
  }

  /** The request carries the daemon's token (or none is configured): user tokens need authenticate(). */
  allows(req: http.IncomingMessage): boolean {
    if (!this.required) return true;
    const given = this.credential(req);
    return given !== null && this.tokenMatches(given);
  }

  /** A token is configured: requests must prove they know it. */
  get required(): boolean {
    return this.tokenDigest !== null;
  }

  /** True when the token matches (constant time). */
  tokenMatches(given: string): boolean {
    return this.tokenDigest !== null && timingSafeEqual(digest(given.trim()), this.tokenDigest);
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

  /** Set-Cookie for a successful login with `token` (the daemon's or a user's); clearCookie() for logout. */
  setCookie(token: string): string {
    return `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${COOKIE_MAX_AGE}`;
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
