// Grants on one session or one artifact (seed 004's grant/revoke/get): a user gets a right on that
// object alone, beside the roles it holds on projects. identity/grants/<kind>/<id>.
import type { ObjectBackend } from '../store/index.js';
import { readDoc, updateDoc } from './json-doc.js';
import type { Right } from './rights.js';

export type GrantKind = 'session' | 'artifact';

export interface Grant {
  user: string;
  right: Right;
  granted_by: string;
  time: string;
}

interface GrantDoc {
  kind: GrantKind;
  id: string;
  grants: Grant[];
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const grantKey = (kind: GrantKind, id: string) => {
  if (!ID.test(id)) throw new Error(`${kind} id ${JSON.stringify(id)} is not valid`);
  return `identity/grants/${kind}/${id}`;
};

export class GrantStore {
  constructor(private readonly backend: ObjectBackend) {}

  async get(kind: GrantKind, id: string): Promise<Grant[]> {
    return (await readDoc<GrantDoc>(this.backend, grantKey(kind, id)))?.grants ?? [];
  }

  /** Gives `user` `right` on the object (replacing a right it had there). */
  async grant(kind: GrantKind, id: string, g: Omit<Grant, 'time'>): Promise<Grant[]> {
    const time = new Date().toISOString();
    const doc = await updateDoc<GrantDoc>(this.backend, grantKey(kind, id), (cur) => ({
      kind,
      id,
      grants: [...(cur?.grants ?? []).filter((x) => x.user !== g.user), { ...g, time }],
    }));
    return doc!.grants;
  }

  /** Takes every right of `user` on the object away; false when it had none. */
  async revoke(kind: GrantKind, id: string, user: string): Promise<boolean> {
    let had = false;
    await updateDoc<GrantDoc>(this.backend, grantKey(kind, id), (cur) => {
      if (!cur?.grants.some((x) => x.user === user)) return undefined;
      had = true;
      return { ...cur, grants: cur.grants.filter((x) => x.user !== user) };
    });
    return had;
  }
}
