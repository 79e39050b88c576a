// Credential squashing, as knfsd's exports(5) root_squash / all_squash / anonuid / anongid:
// AUTH_SYS credentials are the client's word (RFC 5531 appendix A), so an export may refuse
// to take a client's root (or anyone) at its word and map them to an anonymous user.
import type { AuthSys, RpcContext } from '../../rpc/handler.js';

export type SquashMode = 'none' | 'root' | 'all';

export interface Squash {
  /** none: trust uid 0 (no_root_squash); root: map uid/gid 0 to anon (root_squash); all: map everyone (all_squash) */
  mode: SquashMode;
  anonUid: number;
  anonGid: number;
}

/** What AUTH_NONE callers were before anonuid/anongid existed (see credOf). */
const NOBODY_ID = 65534;

/**
 * A function that rewrites a call's credential in place (ctx.auth) by the squash rules, or
 * null when there is nothing to rewrite. AUTH_NONE callers become anonUid/anonGid. Mapped
 * credentials are cached per credential object (the RPC layer reuses one per connection).
 */
export function squasher(s: Squash): ((ctx: RpcContext) => void) | null {
  const anonIsNobody = s.anonUid === NOBODY_ID && s.anonGid === NOBODY_ID;
  if (s.mode === 'none' && anonIsNobody) return null;
  const anon: AuthSys = Object.freeze({
    stamp: 0,
    machine: '',
    uid: s.anonUid,
    gid: s.anonGid,
    gids: Object.freeze([]) as unknown as number[],
  });
  const cache = new WeakMap<AuthSys, AuthSys>();
  const map = (a: AuthSys): AuthSys => {
    if (s.mode === 'all') return anon;
    if (s.mode === 'none' || (a.uid !== 0 && a.gid !== 0 && !a.gids.includes(0))) return a;
    const gids = Object.freeze(a.gids.map((g) => (g === 0 ? s.anonGid : g))) as unknown as number[];
    return Object.freeze({ ...a, uid: a.uid === 0 ? s.anonUid : a.uid, gid: a.gid === 0 ? s.anonGid : a.gid, gids });
  };
  return (ctx) => {
    const a = ctx.auth;
    if (a === null) {
      if (!anonIsNobody) ctx.auth = anon;
      return;
    }
    let m = cache.get(a);
    if (m === undefined) cache.set(a, (m = map(a)));
    ctx.auth = m;
  };
}
