// Seed 004's getCurrent/setCurrent: each caller (API user, or the local user of the CLI on a data
// directory) has one current session, which `mic session` commands use when given none.
import type { ObjectBackend } from '../store/index.js';

export interface CurrentDoc {
  session_id: string;
  set_at: string;
}

export class CurrentSessions {
  constructor(private readonly backend: ObjectBackend) {}

  private key(user: string): string {
    return `current-session/${Buffer.from(user, 'utf8').toString('hex')}`;
  }

  async get(user: string): Promise<CurrentDoc | null> {
    const raw = await this.backend.get(this.key(user));
    return raw ? (JSON.parse(raw.toString('utf8')) as CurrentDoc) : null;
  }

  /** null clears it */
  async set(user: string, id: string | null): Promise<CurrentDoc | null> {
    if (id === null) {
      await this.backend.delete(this.key(user));
      return null;
    }
    const doc = { session_id: id, set_at: new Date().toISOString() };
    await this.backend.put(this.key(user), Buffer.from(JSON.stringify(doc)));
    return doc;
  }
}
