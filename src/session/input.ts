// Validation of API input. Every failure is a 400 naming the field and the reason; nothing here throws
// anything else, so bad input never becomes a 500.
import { isValidProject, MAX_NAME_BYTES } from '../store/index.js';
import { InvalidInputError, NotFoundError } from './errors.js';
import { CHANGE_TYPES, type ChangeType } from './changes.js';
import {
  ENVIRONMENTS,
  EXECUTION_MODES,
  STATUSES,
  STATUS_ALIASES,
  isValidSessionId,
  type SessionRecord,
  type SessionStatus,
} from './record.js';

export { STATUS_ALIASES } from './record.js';

type Obj = Record<string, unknown>;

const MAX_TEXT = 1024 * 1024;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,63}$/;
const AGENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function body(v: unknown, field = 'body'): Obj {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new InvalidInputError(field, 'must be a JSON object');
  return v;
}

export function str(
  o: Obj,
  field: string,
  opts: { required?: boolean; max?: number; prefix?: string; allowEmpty?: boolean } = {},
): string | undefined {
  const name = (opts.prefix ?? '') + field;
  const v = o[field];
  if (v === undefined || v === null) {
    if (opts.required) throw new InvalidInputError(name, 'is required');
    return undefined;
  }
  if (typeof v !== 'string') throw new InvalidInputError(name, 'must be a string');
  if (!opts.allowEmpty && opts.required && v.trim() === '') throw new InvalidInputError(name, 'must not be empty');
  if (v.length > (opts.max ?? MAX_TEXT)) throw new InvalidInputError(name, `is longer than ${opts.max ?? MAX_TEXT} characters`);
  return v;
}

function time(o: Obj, field: string, prefix: string): string | undefined {
  const v = str(o, field, { prefix, max: 64 });
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidInputError(prefix + field, 'is not an ISO 8601 time');
  return new Date(t).toISOString();
}

/** "org/name" from organization + project, or from project alone when it holds the slash. */
export function projectOf(o: Obj): string {
  const org = str(o, 'organization', { max: 64 });
  // project_id: the design's name for the same "org/name" (a request gives one of the two)
  if (o.project !== undefined && o.project_id !== undefined && o.project !== o.project_id)
    throw new InvalidInputError('project_id', 'differs from project; give one of them');
  const project =
    o.project === undefined && o.project_id !== undefined
      ? str(o, 'project_id', { required: true, max: 129 })!
      : str(o, 'project', { required: true, max: 129 })!;
  const full = org !== undefined && !project.includes('/') ? `${org}/${project}` : project;
  if (org !== undefined && project.includes('/') && !project.startsWith(`${org}/`)) {
    throw new InvalidInputError('project', `"${project}" is not in organization "${org}"`);
  }
  if (org !== undefined && !isValidProject(`${org}/x`))
    throw new InvalidInputError('organization', 'must be 1-64 characters of [A-Za-z0-9._-]');
  if (!isValidProject(full)) {
    throw new InvalidInputError(
      org === undefined && !project.includes('/') ? 'organization' : 'project',
      org === undefined && !project.includes('/')
        ? 'is required (or give project as "org/name")'
        : 'must be "org/name", each part 1-64 characters of [A-Za-z0-9._-]',
    );
  }
  return full;
}

export function projectParam(org: string, name: string): string {
  const p = `${org}/${name}`;
  if (!isValidProject(p)) throw new InvalidInputError('project', 'must be "org/name", each part 1-64 characters of [A-Za-z0-9._-]');
  return p;
}

export function sessionIdParam(id: string): string {
  if (!isValidSessionId(id)) throw new NotFoundError('session', `session ${JSON.stringify(id)} not found`);
  return id;
}

export type Message = SessionRecord['conversation'][number];
export type Decision = SessionRecord['decisions'][number];

export function messages(v: unknown, field: string, now: string): Message[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidInputError(field, 'must be an array');
  return v.map((m, i) => message(m, `${field}[${i}].`, now));
}

export function message(v: unknown, prefix: string, now: string): Message {
  if (!isObject(v)) throw new InvalidInputError(prefix.replace(/\.$/, ''), 'must be an object with role and content');
  known(v, ['role', 'content', 'time'], prefix);
  const role = str(v, 'role', { required: true, max: 64, prefix })!;
  const content = str(v, 'content', { required: true, prefix, allowEmpty: true })!;
  return { role, content, time: time(v, 'time', prefix) ?? now };
}

export function decisions(v: unknown, field: string, now: string): Decision[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidInputError(field, 'must be an array');
  return v.map((d, i) => decision(d, `${field}[${i}].`, now));
}

export function decision(v: unknown, prefix: string, now: string): Decision {
  if (!isObject(v)) throw new InvalidInputError(prefix.replace(/\.$/, ''), 'must be an object with decision and reasoning');
  known(v, ['decision', 'reasoning', 'time'], prefix);
  const d = str(v, 'decision', { required: true, prefix })!;
  const reasoning = str(v, 'reasoning', { prefix, allowEmpty: true }) ?? '';
  return { decision: d, reasoning, time: time(v, 'time', prefix) ?? now };
}

export const MAX_METADATA_BYTES = 64 * 1024;
export const MAX_STATE_BYTES = 256 * 1024;

/** The size of v as JSON, or a 400 naming field when it is not JSON (or too deep to be sane). */
function jsonBytes(v: unknown, field: string): number {
  let text: string;
  try {
    text = JSON.stringify(v);
  } catch {
    throw new InvalidInputError(field, 'is not a JSON value');
  }
  return Buffer.byteLength(text, 'utf8');
}

/** Any JSON values under 1-128 character keys, at most 64 KiB as JSON; with allowNull, null means
 *  "remove this key" (PATCH). */
export function metadata(v: unknown, field: string, allowNull = false): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new InvalidInputError(field, 'must be an object (its values any JSON)');
  const keys = Object.keys(v);
  if (keys.length > 1000) throw new InvalidInputError(field, 'has more than 1000 keys');
  for (const k of keys) {
    if (k.length === 0 || k.length > 128) throw new InvalidInputError(`${field}.${k}`, 'keys must be 1-128 characters');
    if (v[k] === null && !allowNull) throw new InvalidInputError(`${field}.${k}`, 'must not be null (PATCH removes a key with null)');
  }
  if (jsonBytes(v, field) > MAX_METADATA_BYTES) throw new InvalidInputError(field, `is larger than ${MAX_METADATA_BYTES} bytes as JSON`);
  return v;
}

/** Seed 002's state: a JSON object, at most 256 KiB as JSON. */
export function state(v: unknown, field = 'state'): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new InvalidInputError(field, 'must be a JSON object');
  if (jsonBytes(v, field) > MAX_STATE_BYTES) throw new InvalidInputError(field, `is larger than ${MAX_STATE_BYTES} bytes as JSON`);
  return v;
}

/** One rule for every route: a field the route does not know is a 400 naming it. */
export function known(o: Obj, fields: readonly string[], prefix = ''): void {
  for (const k of Object.keys(o))
    if (!fields.includes(k))
      throw new InvalidInputError(prefix + k, `is not a known field (${fields.length ? fields.join(', ') : 'none are taken here'})`);
}

export function tags(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidInputError(field, 'must be an array of strings');
  const out: string[] = [];
  v.forEach((t, i) => {
    if (typeof t !== 'string' || !TAG.test(t))
      throw new InvalidInputError(`${field}[${i}]`, 'must be 1-64 characters of [A-Za-z0-9._:/+-], starting with a letter or digit');
    if (!out.includes(t)) out.push(t);
  });
  if (out.length > 100) throw new InvalidInputError(field, 'has more than 100 tags');
  return out;
}

/** Who runs a session and how: the agent's name, its environment and its execution mode. */
export interface AgentInfo {
  agent?: string;
  user?: string;
  nfs_uid?: number;
  environment?: SessionRecord['environment'];
  execution_mode?: SessionRecord['execution_mode'];
  type?: string;
  state?: Record<string, unknown>;
  external_conversation_id?: string;
  component?: string;
}

export function agentInfo(o: Obj): AgentInfo {
  const out: AgentInfo = {};
  const agent = str(o, 'agent', { max: 64 });
  if (agent !== undefined) {
    if (!AGENT.test(agent)) throw new InvalidInputError('agent', 'must be 1-64 characters of [A-Za-z0-9._-] (e.g. claude_code)');
    out.agent = agent;
  }
  // the gate (src/gate/guarded-api.ts) sets user to the caller; a body cannot choose it
  const user = str(o, 'user', { max: 128 });
  if (user !== undefined) out.user = user;
  if (o.nfs_uid !== undefined && o.nfs_uid !== null) {
    if (!Number.isInteger(o.nfs_uid) || (o.nfs_uid as number) < 0 || (o.nfs_uid as number) > 0xffffffff)
      throw new InvalidInputError('nfs_uid', 'must be a uid, an integer from 0 to 4294967295');
    out.nfs_uid = o.nfs_uid as number;
  }
  const env = str(o, 'environment', { max: 64 });
  if (env !== undefined) {
    if (!(ENVIRONMENTS as readonly string[]).includes(env))
      throw new InvalidInputError('environment', `must be one of ${ENVIRONMENTS.join(', ')}`);
    out.environment = env as AgentInfo['environment'];
  }
  const mode = str(o, 'execution_mode', { max: 64 });
  if (mode !== undefined) {
    if (!(EXECUTION_MODES as readonly string[]).includes(mode))
      throw new InvalidInputError('execution_mode', `must be one of ${EXECUTION_MODES.join(', ')}`);
    out.execution_mode = mode as AgentInfo['execution_mode'];
  }
  const type = str(o, 'type', { max: 64 });
  if (type !== undefined) out.type = type; // checked against the project's list (session-config.ts)
  const st = state(o.state);
  if (st !== undefined) out.state = st;
  const conv = str(o, 'external_conversation_id', { max: 256 });
  if (conv !== undefined) out.external_conversation_id = conv;
  // seed 002's component_id; ours is a name, as project is
  const component = str(o, 'component_id', { max: 128 }) ?? str(o, 'component', { max: 128 });
  if (component !== undefined) out.component = component;
  return out;
}

export function statusParam(v: string | undefined): SessionStatus | undefined {
  if (v === undefined || v === '') return undefined;
  const s = STATUS_ALIASES[v] ?? v;
  if (!(STATUSES as readonly string[]).includes(s))
    throw new InvalidInputError('status', `must be one of ${[...STATUSES, ...Object.keys(STATUS_ALIASES)].join(', ')}`);
  return s as SessionStatus;
}

export function intParam(v: string | number | undefined, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = typeof v === 'number' ? v : /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidInputError(field, `must be an integer from ${min} to ${max}`);
  return n;
}

export function boolParam(v: string | boolean | undefined, field: string, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidInputError(field, 'must be true or false');
}

// ---------------------------------------------------------------- files ({path, change_type, content?})

export interface FileInput {
  path: string;
  /** path components, validated */
  parts: string[];
  change_type: ChangeType;
  content?: Buffer;
  mode?: number;
  /** change_type "auto": precheckFiles sets change_type from the tree */
  auto?: boolean;
}

/** A path inside the tree: relative, no "." or ".." components, no empty components, no NUL. */
export function treePath(p: unknown, field: string): string[] {
  if (typeof p !== 'string') throw new InvalidInputError(field, 'must be a string');
  if (p.length === 0) throw new InvalidInputError(field, 'must not be empty');
  if (p.length > 4096) throw new InvalidInputError(field, 'is longer than 4096 characters');
  if (p.includes('\0')) throw new InvalidInputError(field, 'contains a NUL character');
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p))
    throw new InvalidInputError(field, 'must be relative to the project root (absolute paths are not allowed)');
  const parts = p.split('/');
  for (const part of parts) {
    if (part === '..') throw new InvalidInputError(field, 'escapes the tree ("..")');
  }
  for (const part of parts) {
    if (part === '') throw new InvalidInputError(field, 'has an empty component ("//" or a trailing "/")');
    if (part === '.') throw new InvalidInputError(field, 'has a "." component');
    if (Buffer.byteLength(part, 'utf8') > MAX_NAME_BYTES)
      throw new InvalidInputError(field, `has a component longer than ${MAX_NAME_BYTES} bytes`);
    if (/\p{Cs}/u.test(part)) throw new InvalidInputError(field, 'is not valid Unicode');
  }
  return parts;
}

export const MAX_FILES = 10_000;

export function files(v: unknown, field = 'files'): FileInput[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidInputError(field, 'must be an array');
  if (v.length > MAX_FILES) throw new InvalidInputError(field, `has more than ${MAX_FILES} entries`);
  return v.map((f, i) => {
    const prefix = `${field}[${i}]`;
    if (!isObject(f)) throw new InvalidInputError(prefix, 'must be an object with path and change_type');
    known(f, ['path', 'change_type', 'content', 'encoding', 'content_encoding', 'mode'], `${prefix}.`);
    const parts = treePath(f.path, `${prefix}.path`);
    const ct = f.change_type;
    if (typeof ct !== 'string' || !(ct === 'auto' || (CHANGE_TYPES as readonly string[]).includes(ct))) {
      throw new InvalidInputError(
        `${prefix}.change_type`,
        `unknown change_type ${JSON.stringify(ct)}: must be one of ${CHANGE_TYPES.join(', ')}, or auto`,
      );
    }
    // auto: content given means added or modified (whichever the tree says), none means deleted
    const declared = ct === 'auto' ? (typeof f.content === 'string' ? 'auto' : 'deleted') : (ct as ChangeType);
    const out: FileInput = {
      path: parts.join('/'),
      parts,
      change_type: declared === 'auto' ? 'modified' : declared,
      auto: declared === 'auto',
    };
    if (out.change_type !== 'deleted') {
      if (typeof f.content !== 'string')
        throw new InvalidInputError(`${prefix}.content`, `is required (a string) for change_type ${String(ct)}`);
      const enc = f.encoding ?? f.content_encoding ?? 'utf8';
      if (enc === 'utf8' || enc === 'utf-8') out.content = Buffer.from(f.content, 'utf8');
      else if (enc === 'base64') {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(f.content.replace(/\s+/g, '')))
          throw new InvalidInputError(`${prefix}.content`, 'is not valid base64');
        out.content = Buffer.from(f.content, 'base64');
      } else throw new InvalidInputError(`${prefix}.encoding`, 'must be utf8 or base64');
      if (f.mode !== undefined) {
        const m = typeof f.mode === 'string' && /^[0-7]{1,4}$/.test(f.mode) ? parseInt(f.mode, 8) : f.mode;
        if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 0o7777)
          throw new InvalidInputError(`${prefix}.mode`, 'must be permission bits (0 to 0o7777, or an octal string like "755")');
        out.mode = m;
      }
    } else if (f.content !== undefined && f.content !== null) {
      throw new InvalidInputError(`${prefix}.content`, 'must be absent for change_type deleted');
    }
    return out;
  });
}
