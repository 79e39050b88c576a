// Who is calling, and may they? checkAccess is the one place a right is decided (seed 004's
// checkAccess): the best of the user's roles that cover the project and the grants on the object,
// capped by what the token allows.
import { MissingRightError } from './errors.js';
import type { GrantStore } from './grant-store.js';
import { includes, RIGHTS, scopeCovers, type Right, type Role, type Scope } from './rights.js';

export interface Principal {
  /** the user name ("admin" for the daemon's own token) */
  user: string;
  roles: readonly Role[];
  /** the token's limits, when it has any */
  tokenScope?: Scope;
  tokenRight?: Right;
  /** the token's id, for the audit log */
  tokenId?: string;
}

/** The daemon's own token (--api-token, or the token file in the data directory): every right. */
export function daemonPrincipal(): Principal {
  return { user: 'admin', roles: [{ scope: '*', right: 'admin' }], tokenId: 'daemon' };
}

export interface Target {
  /** "org/name"; absent for global objects (users, tokens, gc, the audit log) */
  project?: string;
  session?: string;
  artifact?: string;
}

export function describeTarget(t: Target): string {
  if (t.artifact) return `artifact ${t.artifact}`;
  if (t.session) return `session ${t.session}${t.project ? ` of ${t.project}` : ''}`;
  if (t.project) return `project ${t.project}`;
  return 'this daemon';
}

function best(rights: Right[]): Right | null {
  let out: Right | null = null;
  for (const r of rights) if (out === null || includes(r, out)) out = r;
  return out;
}

/** The right the principal holds on the target, or null for none. */
export async function effectiveRight(p: Principal, t: Target, grants?: GrantStore): Promise<Right | null> {
  const held: Right[] = [];
  for (const r of p.roles) {
    if (t.project ? scopeCovers(r.scope, t.project) : r.scope === '*') held.push(r.right);
  }
  if (grants && t.session) for (const g of await grants.get('session', t.session)) if (g.user === p.user) held.push(g.right);
  if (grants && t.artifact) for (const g of await grants.get('artifact', t.artifact)) if (g.user === p.user) held.push(g.right);
  let right = best(held);
  if (right === null) return null;
  if (p.tokenScope !== undefined && !(t.project ? scopeCovers(p.tokenScope, t.project) : p.tokenScope === '*')) return null;
  if (p.tokenRight && !includes(p.tokenRight, right)) right = p.tokenRight;
  return right;
}

/** Throws Forbidden (naming the right and the target) unless the principal holds `right` on `t`. */
export async function checkAccess(p: Principal, right: Right, t: Target, grants?: GrantStore): Promise<void> {
  // the roles alone usually decide: then no grant is read from the store (which may be S3, and away)
  const byRoles = await effectiveRight(p, t);
  if (byRoles !== null && includes(byRoles, right)) return;
  const has = await effectiveRight(p, t, grants);
  if (has === null || !includes(has, right)) throw new MissingRightError(right, describeTarget(t), p.user);
}

export { RIGHTS };
