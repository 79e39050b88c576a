// Every session, newest first: index/recent/<t[0:4]>/<t[4:7]>/<t>-<id>, one empty key per session, where t
// is 13 digits of (MAX_MS - the session's start in ms). Byte order is then newest first, so a page of the
// session list reads its page of keys (the two directory levels keep each listing small: a level-1 bucket is
// ~11.6 days, a level-2 bucket ~16.7 minutes) and its records, never every record. The key is written before
// the session's record (an entry without a record is skipped) and never changes (started_at is fixed), so a
// cursor (the last key shown) stays valid while sessions are started, landed or removed between pages.
// A data dir from before the index is indexed once, on its first listing (index/recent-built).
import { InvalidInputError } from './errors.js';
import { isValidSessionId } from './record.js';

export const RECENT_PREFIX = 'index/recent/';
export const RECENT_BUILT_KEY = 'index/recent-built';
const MAX_MS = 9_999_999_999_999;

/** `<t>-<id>`: the session's place in the index, and what a cursor carries. */
export function recentName(r: { started_at: string; session_id: string }): string {
  const ms = Date.parse(r.started_at);
  const t = String(MAX_MS - (Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_MS) : 0)).padStart(13, '0');
  return `${t}-${r.session_id}`;
}

export function recentKey(name: string): string {
  return `${RECENT_PREFIX}${name.slice(0, 4)}/${name.slice(4, 7)}/${name}`;
}

/** The session id of an index key (or of a name), or null when it is not one. */
export function idOfRecent(keyOrName: string): string | null {
  const name = keyOrName.slice(keyOrName.lastIndexOf('/') + 1);
  if (!/^\d{13}-/.test(name)) return null;
  const id = name.slice(14);
  return isValidSessionId(id) ? id : null;
}

/** A page's cursor (opaque to clients: base64url of the last name shown). */
export function encodeCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const name = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!idOfRecent(name)) throw new InvalidInputError('cursor', 'is not a cursor this list gave');
  return name;
}

/** The cursor that continues after this session. */
export function cursorOf(s: { started_at: string; session_id: string }): string {
  return encodeCursor(recentName(s));
}
