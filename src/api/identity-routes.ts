// Users, tokens, grants and the audit log over HTTP. Admin rights on every project manage users and read
// the audit log; a user may make and revoke its own tokens (a token never exceeds its user's roles).
import { checkAccess, type Principal } from '../identity/access.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { GrantKind, GrantStore } from '../identity/grant-store.js';
import { isRight, isScope, parseRole, formatRole } from '../identity/rights.js';
import type { TokenStore } from '../identity/token-store.js';
import type { UserStore } from '../identity/user-store.js';
import type { Catalog } from '../session/catalog.js';
import { InvalidInputError, NotFoundError } from '../session/errors.js';
import { parseDuration } from '../store/collect-garbage.js';
import type { TableRoute } from './route-table.js';

export interface IdentityDeps {
  users: UserStore;
  tokens: TokenStore;
  grants: GrantStore;
  audit: AuditLog;
  catalog: Catalog;
}

type Obj = Record<string, unknown>;
function obj(raw: unknown, allowed: string[]): Obj {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidInputError('body', 'must be a JSON object');
  for (const k of Object.keys(raw)) if (!allowed.includes(k)) throw new InvalidInputError(k, 'is not a known field');
  return raw as Obj;
}
function str(o: Obj, k: string, required = false): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw new InvalidInputError(k, 'is required');
    return undefined;
  }
  if (typeof v !== 'string' || v.length > 512) throw new InvalidInputError(k, 'must be a string of at most 512 characters');
  return v;
}
function roles(o: Obj, k: string) {
  const v = o[k] ?? [];
  if (!Array.isArray(v)) throw new InvalidInputError(k, 'must be a list of "right@scope" strings');
  return v.map((x, i) => {
    try {
      return parseRole(String(x));
    } catch (e) {
      throw new InvalidInputError(`${k}[${i}]`, (e as Error).message);
    }
  });
}
const isAdmin = (p: Principal) =>
  checkAccess(p, 'admin', {}).then(
    () => true,
    () => false,
  );
const view = ({ digest: _d, ...rest }: { digest: string } & Obj) => rest;

function grantTarget(t: string | undefined): { kind: GrantKind; id: string } {
  const m = /^(session|artifact):([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/.exec(t ?? '');
  if (!m) throw new InvalidInputError('target', 'must be session:<id> or artifact:<id>');
  return { kind: m[1] as GrantKind, id: m[2]! };
}

export function identityRoutes(d: IdentityDeps): TableRoute[] {
  const audit = (p: Principal, action: string, target: string, detail?: Obj) =>
    d.audit.append({ actor: p.user, action, target, result: 'ok', ...(detail ? { detail } : {}) });
  /** who may grant on a session: admin on its project */
  const grantScope = async (t: { kind: GrantKind; id: string }) => {
    if (t.kind === 'session') {
      const project = await d.catalog.projectOf(t.id);
      if (!project) throw new NotFoundError('session', `session ${t.id} not found`);
      return { project, session: t.id };
    }
    return { artifact: t.id };
  };
  return [
    {
      method: 'GET',
      path: '/api/whoami',
      handler: async ({ principal: p }) => ({
        json: {
          user: p.user,
          roles: p.roles.map(formatRole),
          token: { id: p.tokenId ?? null, scope: p.tokenScope ?? null, right: p.tokenRight ?? null },
        },
      }),
    },
    {
      method: 'POST',
      path: '/api/users',
      handler: async ({ principal: p, body }) => {
        await checkAccess(p, 'admin', {});
        const b = obj(await body(), ['name', 'roles']);
        const name = str(b, 'name', true)!;
        const { user, created } = await d.users.add(name, roles(b, 'roles')).catch((e: Error) => {
          throw new InvalidInputError('name', e.message);
        });
        if (!created) throw new InvalidInputError('name', `user ${name} exists already`);
        await audit(p, 'user.add', `user:${name}`, { roles: user.roles.map(formatRole) });
        return { status: 201, json: { user } };
      },
    },
    {
      method: 'GET',
      path: '/api/users',
      handler: async ({ principal: p }) => {
        await checkAccess(p, 'admin', {});
        return { json: { users: await d.users.list() } };
      },
    },
    {
      method: 'PATCH',
      path: '/api/users/:name',
      handler: async ({ principal: p, params, body }) => {
        await checkAccess(p, 'admin', {});
        const b = obj(await body(), ['add_roles', 'remove_roles']);
        const u = await d.users.setRoles(params[0]!, roles(b, 'add_roles'), roles(b, 'remove_roles'));
        if (!u) throw new NotFoundError('user', `no user ${params[0]}`);
        await audit(p, 'user.roles', `user:${u.name}`, { roles: u.roles.map(formatRole) });
        return { json: { user: u } };
      },
    },
    {
      method: 'POST',
      path: '/api/tokens',
      handler: async ({ principal: p, body }) => {
        const b = obj(await body(), ['user', 'project', 'right', 'expires_in', 'description']);
        const user = str(b, 'user') ?? p.user;
        if (user !== p.user) await checkAccess(p, 'admin', {});
        if (!(await d.users.get(user))) throw new NotFoundError('user', `no user ${user}`);
        const scope = str(b, 'project');
        if (scope !== undefined && !isScope(scope)) throw new InvalidInputError('project', 'must be an organization or org/name');
        const right = str(b, 'right');
        if (right !== undefined && !isRight(right)) throw new InvalidInputError('right', 'must be read, write, land or admin');
        const exp = str(b, 'expires_in');
        let expiresAt: Date | undefined;
        if (exp !== undefined) {
          try {
            expiresAt = new Date(Date.now() + parseDuration(exp));
          } catch (e) {
            throw new InvalidInputError('expires_in', (e as Error).message);
          }
        }
        const { token, record } = await d.tokens.create({
          user,
          scope,
          right: right as never,
          expiresAt,
          description: str(b, 'description'),
        });
        await audit(p, 'token.create', `token:${record.id}`, { user, ...(scope ? { scope } : {}), ...(right ? { right } : {}) });
        return { status: 201, json: { token, record: view(record as never) } };
      },
    },
    {
      method: 'GET',
      path: '/api/tokens',
      handler: async ({ principal: p }) => {
        const all = await isAdmin(p);
        return { json: { tokens: (await d.tokens.list(all ? undefined : p.user)).map((r) => view(r as never)) } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/tokens/:id',
      handler: async ({ principal: p, params }) => {
        const rec = await d.tokens.get(params[0]!);
        if (!rec) throw new NotFoundError('token', `no token ${params[0]}`);
        if (rec.user !== p.user) await checkAccess(p, 'admin', {});
        await d.tokens.revoke(rec.id);
        await audit(p, 'token.revoke', `token:${rec.id}`, { user: rec.user });
        return { json: { revoked: rec.id } };
      },
    },
    {
      method: 'POST',
      path: '/api/grants',
      handler: async ({ principal: p, body }) => {
        const b = obj(await body(), ['target', 'user', 'right']);
        const t = grantTarget(str(b, 'target', true));
        const user = str(b, 'user', true)!;
        const right = str(b, 'right', true)!;
        if (!isRight(right)) throw new InvalidInputError('right', 'must be read, write, land or admin');
        await checkAccess(p, 'admin', await grantScope(t), d.grants);
        const grants = await d.grants.grant(t.kind, t.id, { user, right, granted_by: p.user });
        await audit(p, 'grant.add', `${t.kind}:${t.id}`, { user, right });
        return { status: 201, json: { target: `${t.kind}:${t.id}`, grants } };
      },
    },
    {
      method: 'GET',
      path: '/api/grants',
      handler: async ({ principal: p, query }) => {
        const t = grantTarget(query.get('target') ?? undefined);
        await checkAccess(p, 'read', await grantScope(t), d.grants);
        return { json: { target: `${t.kind}:${t.id}`, grants: await d.grants.get(t.kind, t.id) } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/grants',
      handler: async ({ principal: p, query }) => {
        const t = grantTarget(query.get('target') ?? undefined);
        const user = query.get('user');
        if (!user) throw new InvalidInputError('user', 'is required');
        await checkAccess(p, 'admin', await grantScope(t), d.grants);
        if (!(await d.grants.revoke(t.kind, t.id, user))) throw new NotFoundError('grant', `${user} has no grant on ${t.kind}:${t.id}`);
        await audit(p, 'grant.revoke', `${t.kind}:${t.id}`, { user });
        return { json: { revoked: { target: `${t.kind}:${t.id}`, user } } };
      },
    },
    {
      method: 'GET',
      path: '/api/audit',
      handler: async ({ principal: p, query }) => {
        await checkAccess(p, 'admin', {});
        const q = (k: string) => query.get(k) ?? undefined;
        const limit = q('limit') !== undefined ? Number(q('limit')) : 100;
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
          throw new InvalidInputError('limit', 'must be an integer from 1 to 10000');
        return {
          json: {
            entries: await d.audit.query({
              actor: q('actor'),
              action: q('action'),
              target: q('target'),
              since: q('since'),
              until: q('until'),
              limit,
            }),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/audit/verify',
      handler: async ({ principal: p }) => {
        await checkAccess(p, 'admin', {});
        return { json: await d.audit.verify() };
      },
    },
  ];
}
