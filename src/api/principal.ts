// Who is calling the API. The daemon's own token (--api-token, or <data-dir>/api-token; the web UI's
// login cookie carries it too) acts with every right; a user's token (mic token create) acts as that
// user, within its limits, and is looked up in the store on every request so a revocation holds at once
// on every daemon. Without a daemon token (--no-api-token, loopback only) a request without a token acts
// with every right, as before.
import type http from 'node:http';
import type { Principal } from '../identity/access.js';
import type { TokenStore } from '../identity/token-store.js';
import type { UserStore } from '../identity/user-store.js';
import type { UiAuth } from '../ui/auth.js';

export function authenticate(req: http.IncomingMessage, auth: UiAuth, id?: { users: UserStore; tokens: TokenStore }): Promise<Principal> {
  return auth.authenticate(req, id); // the web UI's pages and the API decide alike: src/ui/auth.ts
}
