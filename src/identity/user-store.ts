// Users of the API: a name and the roles it holds. Kept in the object store (identity/users/<name>),
// so every daemon on a bucket knows them.
import type { ObjectBackend } from '../store/index.js';
import { readDoc, updateDoc } from './json-doc.js';
import type { Role } from './rights.js';

export interface User {
  name: string;
  roles: Role[];
  created_at: string;
  updated_at: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function isUserName(s: unknown): s is string {
  return typeof s === 'string' && NAME.test(s);
}

const userKey = (name: string) => `identity/users/${name}`;

export class UserStore {
  constructor(private readonly backend: ObjectBackend) {}

  get(name: string): Promise<User | null> {
    return isUserName(name) ? readDoc<User>(this.backend, userKey(name)) : Promise.resolve(null);
  }

  /** Creates a user; an existing user keeps its record unless `replace`. Returns the record and whether it is new. */
  async add(name: string, roles: Role[]): Promise<{ user: User; created: boolean }> {
    if (!isUserName(name))
      throw new Error(`user name ${JSON.stringify(name)}: 1-64 characters of [A-Za-z0-9._@-], starting with a letter or digit`);
    let created = false;
    const now = new Date().toISOString();
    const user = await updateDoc<User>(this.backend, userKey(name), (cur) => {
      if (cur) return undefined;
      created = true;
      return { name, roles, created_at: now, updated_at: now };
    });
    return { user: user!, created };
  }

  /** Adds (or with remove, takes away) roles; returns the new record, null when the user does not exist. */
  async setRoles(name: string, add: Role[], remove: Role[] = []): Promise<User | null> {
    if (!isUserName(name)) return null;
    const same = (a: Role, b: Role) => a.scope === b.scope && a.right === b.right;
    let missing = false;
    const user = await updateDoc<User>(this.backend, userKey(name), (cur) => {
      if (!cur) {
        missing = true;
        return undefined;
      }
      const roles = cur.roles.filter((r) => !remove.some((x) => same(r, x)));
      for (const r of add) if (!roles.some((x) => same(r, x))) roles.push(r);
      return { ...cur, roles, updated_at: new Date().toISOString() };
    });
    return missing ? null : user;
  }

  async list(): Promise<User[]> {
    const out: User[] = [];
    for await (const o of this.backend.list('identity/users/')) {
      const u = await readDoc<User>(this.backend, o.key);
      if (u) out.push(u);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
}
