// Routes beside the session routes (identity, audit, artifacts, events, hooks): each names the right it
// needs on what, and gets the caller, the raw request and response (for streamed bodies) and a JSON
// body reader that the server limits.
import type http from 'node:http';
import type { Principal } from '../identity/access.js';

export interface RouteContext {
  params: string[];
  query: URLSearchParams;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  principal: Principal;
  /** the JSON body, read under the server's limit */
  body(): Promise<unknown>;
  /** who the request's credential stands for now (a stream re-asks: the token may since be revoked); one
   *  look-up per credential per recheckMs, shared by the streams holding it: asOf hears when it began */
  reauthenticate(asOf?: (startedAt: number) => void): Promise<Principal>;
  /** how long a stream may trust its last credential check (limits.ts streamRecheckMs) */
  recheckMs: number;
}

/** json: answered by the server; streamed: the handler wrote the response itself */
export type RouteResult = { status?: number; json?: unknown; headers?: Record<string, string> } | { streamed: true };

export interface TableRoute {
  method: string;
  /** "/api/sessions/:id/artifacts" */
  path: string;
  /** the body is not JSON: the handler streams it (its own limit); its Content-Type must not be one a
   *  page may send cross-origin without a CORS preflight */
  rawBody?: boolean;
  handler(ctx: RouteContext): Promise<RouteResult>;
}

export function matchPath(pattern: string, parts: string[]): string[] | null {
  const pat = pattern.split('/').filter(Boolean);
  if (pat.length !== parts.length) return null;
  const params: string[] = [];
  for (let i = 0; i < pat.length; i++) {
    if (pat[i]!.startsWith(':')) params.push(parts[i]!);
    else if (pat[i] !== parts[i]) return null;
  }
  return params;
}
