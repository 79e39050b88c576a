// The caller's current session (seed 004 getCurrent/setCurrent): `mic session use <id>` sets it, and the
// session commands given no id use it.
import type { SessionApi } from '../session/session-api.js';

/** The id given, or the current session's; an error saying how to set one when there is neither. */
export async function sessionIdOr(api: SessionApi, given: string | undefined): Promise<string> {
  if (given) return given;
  const cur = await api.getCurrent();
  if (!cur.session_id) throw new Error('which session? give its id, or set a current one: mic session use <id>');
  return cur.session_id;
}
