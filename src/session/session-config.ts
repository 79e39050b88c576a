// A project's session configuration (seed 002): the session types a session of the project may have and
// the agents it may name. Kept in the project's store (config/sessions.json); a project without one uses
// the defaults. GET/PUT /api/projects/:org/:name/session-config, `mic session types`.
import type { Catalog } from './catalog.js';
import { InvalidInputError } from './errors.js';
import { DEFAULT_TYPE } from './record.js';

export interface SessionConfig {
  session_types: string[];
  agents: string[];
}

export const DEFAULT_SESSION_TYPES: readonly string[] = [
  DEFAULT_TYPE,
  'feature',
  'bugfix',
  'refactor',
  'docs',
  'test',
  'chore',
  'review',
  'exploration',
  'import',
];
/** seed 002 names claude_code; the others are the agents people run today, and a human at the keyboard */
export const DEFAULT_AGENTS: readonly string[] = ['claude_code', 'codex', 'cursor', 'aider', 'copilot', 'gemini', 'human', 'import-git'];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DOC = 'config/sessions.json';

export function defaultSessionConfig(): SessionConfig {
  return { session_types: [...DEFAULT_SESSION_TYPES], agents: [...DEFAULT_AGENTS] };
}

export async function readSessionConfig(catalog: Catalog, project: string): Promise<SessionConfig> {
  const doc = await catalog.store(project).getJson<Partial<SessionConfig>>(DOC);
  const d = defaultSessionConfig();
  return { session_types: doc?.session_types ?? d.session_types, agents: doc?.agents ?? d.agents };
}

function names(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 200) throw new InvalidInputError(field, 'must be a list of 1 to 200 names');
  const out: string[] = [];
  v.forEach((x, i) => {
    if (typeof x !== 'string' || !NAME.test(x))
      throw new InvalidInputError(`${field}[${i}]`, 'must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit');
    if (!out.includes(x)) out.push(x);
  });
  return out;
}

/** Replaces the lists given (a list left out stays as it is); returns the new configuration. */
export async function writeSessionConfig(catalog: Catalog, project: string, raw: unknown): Promise<SessionConfig> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidInputError('body', 'must be a JSON object');
  const b = raw as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (k !== 'session_types' && k !== 'agents') throw new InvalidInputError(k, 'is not a known field (session_types, agents)');
  const cur = await readSessionConfig(catalog, project);
  const next: SessionConfig = {
    session_types: b.session_types === undefined ? cur.session_types : names(b.session_types, 'session_types'),
    agents: b.agents === undefined ? cur.agents : names(b.agents, 'agents'),
  };
  await catalog.store(project).putJson(DOC, next);
  return next;
}

/** Checks a session's type and agent against its project's lists (400 naming the field). */
export function checkAgainstConfig(c: SessionConfig, o: { type?: string; agent?: string }): void {
  if (o.type !== undefined && !c.session_types.includes(o.type))
    throw new InvalidInputError(
      'type',
      `${JSON.stringify(o.type)} is not a session type of this project: one of ${c.session_types.join(', ')}`,
    );
  if (o.agent !== undefined && !c.agents.includes(o.agent))
    throw new InvalidInputError(
      'agent',
      `${JSON.stringify(o.agent)} is not a known agent: one of ${c.agents.join(', ')} (a project sets its list)`,
    );
}
