// API tokens: shown once, stored only as a SHA-256 digest (identity/tokens/<id>, id = the digest's
// first 16 hex digits), so a copy of the bucket does not leak them. A token may be limited to one
// project or organization and capped at a right; it may expire. Every lookup reads the store, so a
// revoked token fails at once on every daemon sharing the bucket.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ObjectBackend } from '../store/index.js';
import { readDoc, writeDoc } from './json-doc.js';
import type { Right, Scope } from './rights.js';
import { countTokenLookup } from '../metrics/identity-metrics.js';

export interface TokenRecord {
  id: string;
  /** SHA-256 hex of the token */
  digest: string;
  user: string;
  /** limited to this project or organization; absent: everything the user may do */
  scope?: Scope;
  /** capped at this right */
  right?: Right;
  expires_at?: string;
  created_at: string;
  description?: string;
}

export const TOKEN_PREFIX = 'mic_';

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const tokenKey = (id: string) => `identity/tokens/${id}`;
const ID = /^[0-9a-f]{16}$/;

export class TokenStore {
  constructor(private readonly backend: ObjectBackend) {}

  /** Makes a token; the plain text is returned here and never stored. */
  async create(o: {
    user: string;
    scope?: Scope;
    right?: Right;
    expiresAt?: Date;
    description?: string;
  }): Promise<{ token: string; record: TokenRecord }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const digest = tokenDigest(token);
    const record: TokenRecord = {
      id: digest.slice(0, 16),
      digest,
      user: o.user,
      created_at: new Date().toISOString(),
      ...(o.scope ? { scope: o.scope } : {}),
      ...(o.right ? { right: o.right } : {}),
      ...(o.expiresAt ? { expires_at: o.expiresAt.toISOString() } : {}),
      ...(o.description ? { description: o.description } : {}),
    };
    await writeDoc(this.backend, tokenKey(record.id), record);
    return { token, record };
  }

  /** The record of a valid (known, unexpired) token, else null. */
  async verify(token: string, now = Date.now()): Promise<TokenRecord | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
    const digest = tokenDigest(token);
    countTokenLookup();
    const rec = await readDoc<TokenRecord>(this.backend, tokenKey(digest.slice(0, 16)));
    if (!rec || !timingSafeEqual(Buffer.from(rec.digest, 'hex'), Buffer.from(digest, 'hex'))) return null;
    if (rec.expires_at && Date.parse(rec.expires_at) <= now) return null;
    return rec;
  }

  async get(id: string): Promise<TokenRecord | null> {
    return ID.test(id) ? readDoc<TokenRecord>(this.backend, tokenKey(id)) : null;
  }

  /** Revokes a token by id; false when there was none. */
  async revoke(id: string): Promise<boolean> {
    if (!ID.test(id) || !(await this.backend.has(tokenKey(id)))) return false;
    await this.backend.delete(tokenKey(id));
    return true;
  }

  async list(user?: string): Promise<TokenRecord[]> {
    const out: TokenRecord[] = [];
    for await (const o of this.backend.list('identity/tokens/')) {
      const r = await readDoc<TokenRecord>(this.backend, o.key);
      if (r && (!user || r.user === user)) out.push(r);
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }
}
