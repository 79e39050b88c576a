// Users, tokens, grants and the one access check, on a real LocalBackend (two stores on one
// directory stand for two daemons sharing a bucket).
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/store/local-backend.js';
import { UserStore } from '../../src/identity/user-store.js';
import { TokenStore } from '../../src/identity/token-store.js';
import { GrantStore } from '../../src/identity/grant-store.js';
import { checkAccess, effectiveRight, type Principal } from '../../src/identity/access.js';
import { ForbiddenError } from '../../src/identity/errors.js';
import { parseRole } from '../../src/identity/rights.js';
import { tempDir } from '../store/helpers.js';

async function principalOf(users: UserStore, tokens: TokenStore, token: string): Promise<Principal | null> {
  const rec = await tokens.verify(token);
  if (!rec) return null;
  const u = await users.get(rec.user);
  return u ? { user: u.name, roles: u.roles, tokenScope: rec.scope, tokenRight: rec.right, tokenId: rec.id } : null;
}

describe('identity', () => {
  it('roles cover their scope only, and a token narrows what its user may do', async () => {
    const b = new LocalBackend(await tempDir());
    const users = new UserStore(b);
    const tokens = new TokenStore(b);
    await users.add('dev', [parseRole('land@acme'), parseRole('read')]);
    const { token } = await tokens.create({ user: 'dev' });
    const p = (await principalOf(users, tokens, token))!;
    expect(await effectiveRight(p, { project: 'acme/app' })).toBe('land');
    expect(await effectiveRight(p, { project: 'other/x' })).toBe('read');
    await expect(checkAccess(p, 'admin', { project: 'acme/app' })).rejects.toThrow(/dev lacks the "admin" right on project acme\/app/);
    await expect(checkAccess(p, 'write', { project: 'other/x' })).rejects.toBeInstanceOf(ForbiddenError);

    const scoped = await tokens.create({ user: 'dev', scope: 'acme/app', right: 'read' });
    const q = (await principalOf(users, tokens, scoped.token))!;
    expect(await effectiveRight(q, { project: 'acme/app' })).toBe('read');
    expect(await effectiveRight(q, { project: 'acme/other' })).toBeNull();
    expect(await effectiveRight(q, { project: 'other/x' })).toBeNull();
    await expect(checkAccess(q, 'land', { project: 'acme/app' })).rejects.toThrow(/lacks the "land" right/);
  });

  it('stores only a digest, and a revoked or expired token fails at once everywhere', async () => {
    const dir = await tempDir();
    const a = new TokenStore(new LocalBackend(dir));
    const other = new TokenStore(new LocalBackend(dir)); // a second daemon on the same store
    const { token, record } = await a.create({ user: 'bot' });
    expect(token).toMatch(/^mic_[A-Za-z0-9_-]{43}$/);
    const raw = JSON.stringify(await new LocalBackend(dir).get(`identity/tokens/${record.id}`).then((x) => x!.toString()));
    expect(raw).not.toContain(token.slice(4));
    expect((await other.verify(token))?.user).toBe('bot');
    expect(await other.verify(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeNull();
    expect(await a.revoke(record.id)).toBe(true);
    expect(await other.verify(token)).toBeNull();
    const exp = await a.create({ user: 'bot', expiresAt: new Date(Date.now() + 60_000) });
    expect(await a.verify(exp.token)).not.toBeNull();
    expect(await a.verify(exp.token, Date.now() + 120_000)).toBeNull();
  });

  it('a grant on one session gives that session only', async () => {
    const b = new LocalBackend(await tempDir());
    const grants = new GrantStore(b);
    const p: Principal = { user: 'guest', roles: [] };
    expect(await effectiveRight(p, { project: 'acme/app', session: 's1' }, grants)).toBeNull();
    await grants.grant('session', 's1', { user: 'guest', right: 'write', granted_by: 'admin' });
    expect(await effectiveRight(p, { project: 'acme/app', session: 's1' }, grants)).toBe('write');
    expect(await effectiveRight(p, { project: 'acme/app', session: 's2' }, grants)).toBeNull();
    await expect(checkAccess(p, 'land', { project: 'acme/app', session: 's1' }, grants)).rejects.toThrow(
      /lacks the "land" right on session s1/,
    );
    expect(await grants.revoke('session', 's1', 'guest')).toBe(true);
    expect(await effectiveRight(p, { project: 'acme/app', session: 's1' }, grants)).toBeNull();
  });

  it('user names and roles are checked', async () => {
    const users = new UserStore(new LocalBackend(await tempDir()));
    await expect(users.add('../x', [])).rejects.toThrow(/user name/);
    expect(() => parseRole('owner@acme')).toThrow(/right must be one of/);
    expect(() => parseRole('read@a/b/c')).toThrow(/scope/);
    const first = await users.add('x', [parseRole('read')]);
    const again = await users.add('x', [parseRole('admin')]);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.user.roles).toEqual([{ scope: '*', right: 'read' }]);
    expect((await users.setRoles('x', [parseRole('write@acme/app')]))!.roles).toHaveLength(2);
  });
});
