// Project names and the key layout described in types.ts.
import { InvalidKeyError } from './errors.js';

const PROJECT_PART = /^[A-Za-z0-9._-]{1,64}$/;
const HASH_HEX = /^[0-9a-f]{64}$/;

/** True for "org/name" where each part is [A-Za-z0-9._-]{1,64} and not "." or "..". */
export function isValidProject(project: string): boolean {
  const parts = project.split('/');
  return parts.length === 2 && parts.every((p) => PROJECT_PART.test(p) && p !== '.' && p !== '..');
}

export function validateProject(project: string): void {
  if (!isValidProject(project)) throw new InvalidKeyError(project, 'project must be "org/name", parts [A-Za-z0-9._-]{1,64}');
}

/** "projects/<org>/<name>/" (with the trailing slash, ready for list()). */
export function projectPrefix(project: string): string {
  validateProject(project);
  return `projects/${project}/`;
}

export function isHash(s: string): boolean {
  return HASH_HEX.test(s);
}

export function validateHash(hash: string): void {
  if (!isHash(hash)) throw new InvalidKeyError(hash, 'not a lowercase SHA-256 hex digest');
}

/** "<kind>/<h[0:2]>/<h>" relative to the project prefix. */
export function objectRelKey(kind: 'blobs' | 'trees' | 'heads', hash: string): string {
  validateHash(hash);
  return `${kind}/${hash.slice(0, 2)}/${hash}`;
}

/** Key of the mutable head ref, relative to the project prefix. */
export const HEAD_REF_REL_KEY = 'head';

/** Global key recording which project a session belongs to. */
export function sessionIndexKey(sessionId: string): string {
  validateRelKey(sessionId);
  if (sessionId.includes('/')) throw new InvalidKeyError(sessionId, 'session id must not contain "/"');
  return `index/sessions/${sessionId}`;
}

/**
 * Keys are relative slash-separated paths: no leading "/", no empty, "." or ".." segments,
 * no NUL or backslash, and no "~" (reserved for LocalBackend temp and lock files).
 */
export function validateRelKey(key: string): void {
  const n = key.length;
  if (n === 0 || n > 1024) throw new InvalidKeyError(key, 'empty or too long');
  if (key.charCodeAt(0) === 0x2f) throw new InvalidKeyError(key, 'absolute');
  // one pass over the characters (import-git checks ~60k keys a run): NUL, "\\", "~", and the segments
  let badSegment: string | null = null;
  let from = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? key.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      const len = i - from;
      if (
        badSegment === null &&
        (len === 0 || (len <= 2 && key.charCodeAt(from) === 0x2e && (len === 1 || key.charCodeAt(from + 1) === 0x2e)))
      )
        badSegment = key.slice(from, i);
      from = i + 1;
    } else if (c === 0 || c === 0x5c || c === 0x7e) throw new InvalidKeyError(key, 'contains NUL, "\\" or "~"');
  }
  if (badSegment !== null) throw new InvalidKeyError(key, `bad segment "${badSegment}"`);
}

/** …/blobs|trees|heads/<h[0:2]>/<h>: kind, the two-digit shard, the hash */
export const CONTENT_KEY = /(?:^|\/)(blobs|trees|heads)\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/** True for keys of immutable objects named by their hash (…/blobs|trees|heads/<h[0:2]>/<h>). */
export function isContentAddressedKey(key: string): boolean {
  const m = CONTENT_KEY.exec(key);
  return m !== null && m[3]!.startsWith(m[2]!);
}
