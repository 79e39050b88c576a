// mic user / mic token / mic grant: API users, their tokens and per-object grants. They work on the store
// directly (also while a daemon serves the data directory: every daemon on the store sees the change at its
// next request), and each change is written to the audit log with the local user as actor.
import os from 'node:os';
import { Command } from 'commander';
import { dataDirOf, out, printJson } from './common.js';
import type { GrantKind } from '../identity/grant-store.js';
import { formatRole, isRight, isScope, parseRole, type Role } from '../identity/rights.js';

/** The actor of changes made from this machine's shell. */
export function localActor(): string {
  return `local:${os.userInfo().username}`;
}

/** The store and its identity stores, loaded only when an identity command runs. */
async function stores(cmd: Command) {
  const [{ openCatalog }, { UserStore }, { TokenStore }, { GrantStore }, { AuditLog }] = await Promise.all([
    import('../daemon/data-dir.js'),
    import('../identity/user-store.js'),
    import('../identity/token-store.js'),
    import('../identity/grant-store.js'),
    import('../audit/audit-log.js'),
  ]);
  const backend = openCatalog(dataDirOf(cmd)).backend;
  return { users: new UserStore(backend), tokens: new TokenStore(backend), grants: new GrantStore(backend), audit: new AuditLog(backend) };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function userCommand(): Command {
  const c = new Command('user').description(
    'API users and their roles (right@scope: read, write, land, admin on *, an organization or org/name)',
  );
  c.command('add <name>')
    .description('add a user')
    .option('--role <right@scope>', 'a role, repeatable (e.g. land@acme/app, read@acme, admin)', collect, [])
    .option('--json', 'print JSON')
    .action(async (name: string, o, cmd: Command) => {
      const s = await stores(cmd);
      const roles = (o.role as string[]).map(parseRole);
      const { user, created } = await s.users.add(name, roles);
      if (!created) throw new Error(`user ${name} exists already (change its roles with mic user role)`);
      await s.audit.append({
        actor: localActor(),
        action: 'user.add',
        target: `user:${name}`,
        result: 'ok',
        detail: { roles: roles.map(formatRole) },
      });
      if (o.json) printJson({ user });
      else out(`user ${name} added${roles.length ? ` with ${roles.map(formatRole).join(', ')}` : ' (no roles yet)'}`);
    });
  c.command('role <name>')
    .description('give or take roles')
    .option('--add <right@scope>', 'give a role, repeatable', collect, [])
    .option('--remove <right@scope>', 'take a role away, repeatable', collect, [])
    .action(async (name: string, o, cmd: Command) => {
      const s = await stores(cmd);
      const add = (o.add as string[]).map(parseRole);
      const remove = (o.remove as string[]).map(parseRole);
      const u = await s.users.setRoles(name, add, remove);
      if (!u) throw new Error(`no user ${name}`);
      await s.audit.append({
        actor: localActor(),
        action: 'user.roles',
        target: `user:${name}`,
        result: 'ok',
        detail: { add: add.map(formatRole), remove: remove.map(formatRole) },
      });
      out(`${name}: ${u.roles.map(formatRole).join(', ') || 'no roles'}`);
    });
  c.command('list')
    .alias('ls')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const users = await (await stores(cmd)).users.list();
      if (o.json) return printJson({ users });
      for (const u of users) out(`${u.name.padEnd(24)} ${u.roles.map(formatRole).join(', ') || '-'}`);
    });
  return c;
}

export function tokenCommand(): Command {
  const c = new Command('token').description('API tokens (shown once, stored as a digest)');
  c.command('create')
    .description('make a token for a user')
    .requiredOption('--user <name>', 'the user the token acts as')
    .option('--project <scope>', 'limit the token to one project (org/name) or organization')
    .option('--right <right>', 'cap the token at a right (read, write, land, admin)')
    .option('--expires <duration>', 'expire after this long (e.g. 12h, 30d)')
    .option('--description <text>', 'what the token is for')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const s = await stores(cmd);
      if (!(await s.users.get(o.user))) throw new Error(`no user ${o.user} (add it with mic user add)`);
      if (o.project !== undefined && !isScope(o.project)) throw new Error(`--project: not an organization or org/name: ${o.project}`);
      if (o.right !== undefined && !isRight(o.right)) throw new Error(`--right: one of read, write, land, admin`);
      const expiresAt = o.expires
        ? new Date(Date.now() + (await import('../store/collect-garbage.js')).parseDuration(o.expires))
        : undefined;
      const { token, record } = await s.tokens.create({
        user: o.user,
        scope: o.project,
        right: o.right,
        expiresAt,
        description: o.description,
      });
      await s.audit.append({
        actor: localActor(),
        action: 'token.create',
        target: `token:${record.id}`,
        result: 'ok',
        detail: { user: o.user, ...(o.project ? { scope: o.project } : {}), ...(o.right ? { right: o.right } : {}) },
      });
      if (o.json) return printJson({ token, record: { ...record, digest: undefined } });
      out(token);
      process.stderr.write(
        `token ${record.id} for ${o.user}${o.project ? ` on ${o.project}` : ''}${o.right ? `, at most ${o.right}` : ''}${expiresAt ? `, expires ${expiresAt.toISOString()}` : ''}: shown once, keep it safe\n`,
      );
    });
  c.command('list')
    .alias('ls')
    .description('list tokens (ids, never the tokens)')
    .option('--user <name>')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const list = (await (await stores(cmd)).tokens.list(o.user)).map(({ digest: _d, ...r }) => r);
      if (o.json) return printJson({ tokens: list });
      for (const t of list)
        out(
          `${t.id}  ${t.user.padEnd(16)} ${(t.scope ?? '*').padEnd(20)} ${(t.right ?? '-').padEnd(6)} ${t.expires_at ?? 'no expiry'}  ${t.description ?? ''}`,
        );
    });
  c.command('revoke <id>')
    .description('revoke a token: it fails at once on every daemon on the store')
    .action(async (id: string, _o, cmd: Command) => {
      const s = await stores(cmd);
      if (!(await s.tokens.revoke(id))) throw new Error(`no token ${id}`);
      await s.audit.append({ actor: localActor(), action: 'token.revoke', target: `token:${id}`, result: 'ok' });
      out(`token ${id} revoked`);
    });
  return c;
}

export function grantCommand(): Command {
  const c = new Command('grant').description('give a user a right on one session or artifact (seed 004 grant/revoke/get)');
  const parseTarget = (t: string): { kind: GrantKind; id: string } => {
    const m = /^(session|artifact):(.+)$/.exec(t);
    if (!m) throw new Error(`target must be session:<id> or artifact:<id>, not ${JSON.stringify(t)}`);
    return { kind: m[1] as GrantKind, id: m[2]! };
  };
  c.command('add <target> <user> <right>')
    .description('target: session:<id> or artifact:<id>')
    .action(async (target: string, user: string, right: string, _o, cmd: Command) => {
      if (!isRight(right)) throw new Error('right: one of read, write, land, admin');
      const s = await stores(cmd);
      const t = parseTarget(target);
      await s.grants.grant(t.kind, t.id, { user, right, granted_by: localActor() });
      await s.audit.append({ actor: localActor(), action: 'grant.add', target, result: 'ok', detail: { user, right } });
      out(`${user} may ${right} ${target}`);
    });
  c.command('revoke <target> <user>').action(async (target: string, user: string, _o, cmd: Command) => {
    const s = await stores(cmd);
    const t = parseTarget(target);
    if (!(await s.grants.revoke(t.kind, t.id, user))) throw new Error(`${user} has no grant on ${target}`);
    await s.audit.append({ actor: localActor(), action: 'grant.revoke', target, result: 'ok', detail: { user } });
    out(`${user}'s grant on ${target} revoked`);
  });
  c.command('list <target>')
    .alias('ls')
    .option('--json')
    .action(async (target: string, o, cmd: Command) => {
      const t = parseTarget(target);
      const grants = await (await stores(cmd)).grants.get(t.kind, t.id);
      if (o.json) return printJson({ grants });
      for (const g of grants) out(`${g.user.padEnd(24)} ${g.right.padEnd(6)} by ${g.granted_by} at ${g.time}`);
    });
  return c;
}

export type { Role };
