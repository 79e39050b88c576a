// Rights and roles (seed 004's permission model, made concrete).
// Rights are ordered: each includes the ones before it. A role is a right held on a scope:
// every project ("*"), one organization ("acme") or one project ("acme/app").

export const RIGHTS = ['read', 'write', 'land', 'admin'] as const;
export type Right = (typeof RIGHTS)[number];

export function isRight(s: unknown): s is Right {
  return typeof s === 'string' && (RIGHTS as readonly string[]).includes(s);
}

/** true when `held` includes `needed` */
export function includes(held: Right, needed: Right): boolean {
  return RIGHTS.indexOf(held) >= RIGHTS.indexOf(needed);
}

/** "*", an organization "org", or a project "org/name". */
export type Scope = string;

const PART = /^[A-Za-z0-9._-]{1,64}$/;

export function isScope(s: unknown): s is Scope {
  if (s === '*') return true;
  if (typeof s !== 'string') return false;
  const parts = s.split('/');
  return parts.length <= 2 && parts.every((p) => PART.test(p) && p !== '.' && p !== '..');
}

/** Does a role on `scope` cover `project` ("org/name")? */
export function scopeCovers(scope: Scope, project: string): boolean {
  if (scope === '*') return true;
  if (!scope.includes('/')) return project.startsWith(`${scope}/`);
  return scope === project;
}

export interface Role {
  scope: Scope;
  right: Right;
}

/** Parses "right", "right@scope" (CLI form): "land@acme/app", "read@acme", "admin" (= admin@*). */
export function parseRole(text: string): Role {
  const [right, scope = '*'] = text.split('@');
  if (!isRight(right)) throw new Error(`role ${JSON.stringify(text)}: the right must be one of ${RIGHTS.join(', ')}`);
  if (!isScope(scope)) throw new Error(`role ${JSON.stringify(text)}: the scope must be *, an organization or org/name`);
  return { right, scope };
}

export function formatRole(r: Role): string {
  return r.scope === '*' ? r.right : `${r.right}@${r.scope}`;
}
