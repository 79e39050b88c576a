// Who is calling the API. The daemon's own token (--api-token, or <data-dir>/api-token; the web UI's
// login cookie carries it too) acts with every right; a user's token (mic token create) acts as that
// user, within its limits, and is looked up in the store on every request so a revocation holds at once
// on every daemon. Without a daemon token (--no-api-token, loopback only) a request without a token acts
// with every right, as before.
import type http from 'node:http';
import { daemonPrincipal, type Principal } from '../identity/access.js';
import { UnauthenticatedError } from '../identity/errors.js';
import { TOKEN_PREFIX, type TokenStore } from '../identity/token-store.js';
import type { UserStore } from '../identity/user-store.js';
import type { UiAuth } from '../ui/auth.js';

export async function authenticate(
  req: http.IncomingMessage,
  auth: UiAuth,
  id?: { users: UserStore; tokens: TokenStore },
): Promise<Principal> {
  const given = auth.credential(req);
  if (given !== null && auth.tokenMatches(given)) return daemonPrincipal();
  if (given !== null && id && given.startsWith(TOKEN_PREFIX)) {
    const rec = await id.tokens.verify(given);
    const user = rec ? await id.users.get(rec.user) : null;
    if (rec && user) return { user: user.name, roles: user.roles, tokenScope: rec.scope, tokenRight: rec.right, tokenId: rec.id };
    throw new UnauthenticatedError('the token is unknown, revoked or expired');
  }
  if (!auth.required && given === null) return daemonPrincipal();
  throw new UnauthenticatedError('a valid bearer token is required (mic finds it in <data-dir>/api-token)');
}
