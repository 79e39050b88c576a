// The daemon's JSON: the HTTP API (/api/...) and the UI's extra views (/ui/api/...). Same origin, so the
// login cookie travels with every request; a 401 sends the browser to the login form.
import type { ErrorBody } from './types.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | null,
  ) {
    super(body?.message ?? `HTTP ${status}`);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new HttpError(401, { message: 'login required' });
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* text */
  }
  if (!res.ok) throw new HttpError(res.status, typeof parsed === 'object' ? (parsed as ErrorBody) : { message: String(parsed) });
  return parsed as T;
}

export const get = <T>(path: string) => call<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => call<T>('POST', path, body ?? {});

const enc = encodeURIComponent;
export const projPath = (project: string) => project.split('/').map(enc).join('/');

/** A blob's bytes (file content at a head or in a session). */
export async function blob(project: string, hash: string): Promise<Uint8Array> {
  // the UI's own route: immutable, so the browser keeps each blob (src/ui/web-ui.ts)
  const res = await fetch(`/ui/api/projects/${projPath(project)}/blobs/${hash}`, { credentials: 'same-origin' });
  if (!res.ok) throw new HttpError(res.status, await res.json().catch(() => null));
  return new Uint8Array(await res.arrayBuffer());
}

/** UTF-8 text, or null for binary content (a NUL in the first 8 KiB, or invalid UTF-8). */
export function asText(b: Uint8Array): string | null {
  if (b.subarray(0, 8192).includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

export { enc };
