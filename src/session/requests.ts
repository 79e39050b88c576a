// The session routes' request bodies, parsed and checked (input.ts): every field a route does not know is a
// 400 naming it (one rule for every route), and the seeds' names are taken beside ours.
import { InvalidInputError } from './errors.js';
import * as input from './input.js';
import { isValidSessionId } from './record.js';
import type { StartOptions } from './start.js';

export const START_FIELDS = [
  'goal',
  'project',
  'project_id',
  'organization',
  'session_id',
  'description',
  'conversation',
  'decisions',
  'metadata',
  'tags',
  'agent',
  'user',
  'user_id',
  'account_id',
  'nfs_uid',
  'environment',
  'execution_mode',
  'type',
  'state',
  'external_conversation_id',
  'component_id',
  'component',
] as const;
export const CREATE_FIELDS = [...START_FIELDS, 'files', 'message', 'commit_message'] as const;
export const LAND_FIELDS = ['message', 'commit_message', 'files', 'conversation', 'decisions', 'metadata', 'session_id'] as const;
export const PATCH_FIELDS = [
  'metadata',
  'tags',
  'add_tags',
  'remove_tags',
  'goal',
  'description',
  'type',
  'state',
  'external_conversation_id',
  'component_id',
  'agent',
  'environment',
  'execution_mode',
] as const;

export interface StartInput {
  opts: StartOptions & { sessionId?: string };
  extra: input.AgentInfo;
  b: Record<string, unknown>;
}

export function parseStart(raw: unknown, fields: readonly string[] = START_FIELDS): StartInput {
  const b = input.body(raw);
  input.known(b, fields);
  const now = new Date().toISOString();
  const goal = input.str(b, 'goal', { required: true, max: 4096 })!;
  const project = input.projectOf(b);
  const sessionId = input.str(b, 'session_id', { max: 64 });
  if (sessionId !== undefined && !isValidSessionId(sessionId))
    throw new InvalidInputError('session_id', 'must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit');
  // seed 002's owner fields are the caller's: given, they must say so
  if (b.account_id !== undefined && b.account_id !== project.split('/')[0])
    throw new InvalidInputError('account_id', `is the organization (${project.split('/')[0]}); it cannot differ`);
  if (b.user_id !== undefined && b.user !== undefined && b.user_id !== b.user)
    throw new InvalidInputError('user_id', `is the caller (${String(b.user)}); it cannot differ`);
  const opts = {
    project,
    goal,
    description: input.str(b, 'description') ?? '',
    sessionId,
    conversation: input.messages(b.conversation, 'conversation', now),
    decisions: input.decisions(b.decisions, 'decisions', now),
    metadata: input.metadata(b.metadata, 'metadata'),
    tags: input.tags(b.tags, 'tags'),
  };
  return { opts, extra: input.agentInfo(b), b };
}

export interface LandInput {
  message: string | undefined;
  files: input.FileInput[];
  msgs: input.Message[];
  decs: input.Decision[];
  meta: Record<string, unknown>;
}

export function parseLand(id: string, raw: unknown): LandInput {
  const b = input.body(raw);
  input.known(b, LAND_FIELDS);
  if (b.session_id !== undefined && b.session_id !== id)
    throw new InvalidInputError('session_id', `names another session than the path (${id})`);
  const now = new Date().toISOString();
  const plain = input.str(b, 'message', { max: 65536 });
  const commit = input.str(b, 'commit_message', { max: 65536 });
  if (plain !== undefined && commit !== undefined && plain !== commit)
    throw new InvalidInputError('commit_message', 'differs from message; give one of them');
  return {
    message: commit ?? plain,
    files: input.files(b.files),
    msgs: input.messages(b.conversation, 'conversation', now),
    decs: input.decisions(b.decisions, 'decisions', now),
    meta: input.metadata(b.metadata, 'metadata'),
  };
}

/** A route that takes no body: an empty object (or none) only. */
export function noFields(raw: unknown): void {
  input.known(input.body(raw), []);
}
