// The session contract: SessionApi and its request and response bodies. The session service implements
// it in-process; the HTTP server (src/api/) routes to it and its typed client implements it over HTTP,
// so the CLI uses either alike.
import type { ChangesSummary, Interaction, SessionDetail, SessionStatus, SessionView } from './record.js';
import type { SessionConfig } from './session-config.js';
import type { ChangeView, ChangeType, LandedChange } from './changes.js';
export type { LandedChange };
import type { Conflict, ConflictKind } from './merge.js';
import type { RebaseConflict } from './rebase.js';
import type { ErrorBody } from './errors.js';

export type {
  ChangesSummary,
  Interaction,
  SessionConfig,
  SessionDetail,
  SessionStatus,
  SessionView,
  ChangeView,
  ChangeType,
  Conflict,
  ConflictKind,
  RebaseConflict,
  ErrorBody,
};

export interface MessageInput {
  role: string;
  content: string;
  time?: string;
}
export interface DecisionInput {
  decision: string;
  reasoning?: string;
  time?: string;
}

/** One file change: path, change type and (added, modified) content, with its encoding and mode */
export interface FileChangeInput {
  path: string;
  /** auto: added or modified, whichever the session's tree says */
  change_type: ChangeType | 'auto';
  content?: string;
  encoding?: 'utf8' | 'base64';
  mode?: number | string;
}

/** Seed 002's fields of a session, set at the start and changed by PATCH. */
export interface SchemaFields {
  /** one of the project's session types (default "general") */
  type?: string;
  /** a JSON object (256 KiB at most) */
  state?: Record<string, unknown>;
  external_conversation_id?: string;
  component_id?: string;
  /** one of the project's agents */
  agent?: string;
  environment?: 'local' | 'vscode';
  execution_mode?: 'manual' | 'agentic';
}

export interface StartRequest extends SchemaFields {
  goal: string;
  /** with organization, the project's name; alone, "org/name" */
  project: string;
  organization?: string;
  session_id?: string;
  description?: string;
  conversation?: MessageInput[];
  decisions?: DecisionInput[];
  /** any JSON values (64 KiB as JSON at most) */
  metadata?: Record<string, unknown>;
  tags?: string[];
  /** serve the export to this AUTH_SYS uid only (and root) */
  nfs_uid?: number;
  /** instead of project (and goal): the project claiming this directory (session-config working_directories);
   *  the goal defaults to "Work in <dir>", and metadata.working_directory keeps it */
  working_directory?: string;
  workingDirectory?: string;
}

/** POST /api/sessions: start, apply the files, land. */
export interface CreateRequest extends StartRequest {
  files?: FileChangeInput[];
  message?: string;
}

export interface LandRequest {
  message?: string;
  /** the same as message */
  commit_message?: string;
  /** seed 001's LandSessionRequest names the session too: it must be the path's */
  session_id?: string;
  files?: FileChangeInput[];
  conversation?: MessageInput[];
  decisions?: DecisionInput[];
  metadata?: Record<string, unknown>;
}

export interface PatchRequest extends SchemaFields {
  /** merged into the metadata; null removes a key */
  metadata?: Record<string, unknown>;
  /** replaces the tags */
  tags?: string[];
  add_tags?: string[];
  remove_tags?: string[];
  goal?: string;
  description?: string;
}

/** seed 002's interaction: a command, what it gave, how it ended and when (times default to now) */
export interface InteractionInput {
  command: string;
  result?: string;
  exit_status?: number | null;
  started_at?: string;
  ended_at?: string;
  duration_ms?: number;
  cwd?: string;
}
export type InteractionsRequest = InteractionInput | { interactions: InteractionInput[] };
export interface InteractionsBody {
  session: SessionView;
  interactions: Interaction[];
}
export interface DeleteBody {
  deleted: true;
  session: SessionView;
}
/** the caller's current session (seed 004 getCurrent/setCurrent); null when none is set (or it is gone) */
export interface CurrentBody {
  session_id: string | null;
  session: SessionView | null;
}

/** one message, or several under "messages" */
export type ConversationRequest = MessageInput | { messages: MessageInput[] };
/** one decision, or several under "decisions" */
export type DecisionsRequest = DecisionInput | { decisions: DecisionInput[] };

export interface ListQuery {
  /** ours or the seeds' names: complete = landed, cancelled = abandoned */
  status?: SessionStatus | 'complete' | 'completed' | 'cancelled';
  type?: string;
  tag?: string;
  project?: string;
  limit?: number;
  /** next_cursor of the previous page */
  cursor?: string;
}

export interface SessionBody {
  session: SessionView;
}
export interface SessionDetailBody {
  session: SessionDetail;
}
export interface ListBody {
  /** newest first */
  sessions: SessionView[];
  limit: number;
  /** pass as `cursor` for the next page; null on the last */
  next_cursor: string | null;
  /** how many match: only for status=active|suspended (counting the others would read every record) */
  total: number | null;
}

export interface HeadView {
  hash: string;
  tree: string;
  next_ino: number;
  parent: string | null;
  session: string | null;
  message: string;
  time: string;
  /** the landing session's goal */
  goal?: string | null;
  /** heads imported by import-git: the commit they came from */
  git_commit?: string;
}

export interface LandBody {
  session: SessionView;
  head: HeadView;
  attempts: number;
  /** the design's names: the new head's tree and the head itself */
  new_tree_hash: string;
  landed_commit: string;
  /** what the session changed against its base (at most 10,000; changes_truncated says when more) */
  changes: LandedChange[];
  changes_truncated: boolean;
}
export interface FilesBody {
  session: SessionView;
  applied: number;
}
export interface ChangesBody {
  session_id: string;
  base_tree: string;
  tree: string;
  summary: ChangesSummary;
  changes: ChangeView[];
}
export interface DiffBody {
  session_id: string;
  summary: ChangesSummary;
  diff: string;
}
export interface RebaseBody {
  session: SessionView;
  from: string;
  to: string;
  rebased: boolean;
  conflicts: RebaseConflict[];
}
export interface HeadBody {
  project: string;
  head: HeadView;
}
/** handoff: the tree recorded in sessions/<id>/tree.json and the node id of the data dir that let it go */
export interface HandoffBody {
  session: SessionView;
  tree: string;
  handed_off_by: string;
}
export interface ServeRequest {
  force?: boolean;
}
/** serve: the node now serving it, who held it before (null: handed off), the tree its filesystem starts from */
export interface ServeBody {
  session: SessionView;
  served_by: string;
  previous: string | null;
  took_over: boolean;
  tree: string;
}
export interface LogBody {
  project: string;
  heads: HeadView[];
  next: string | null;
}
export interface ShowBody {
  project: string;
  head: HeadView;
  session: SessionView | null;
  summary: ChangesSummary;
  changes: ChangeView[];
  truncated: boolean;
}
export interface BlameBody {
  project: string;
  path: string;
  kind: string;
  /** the head that last changed the path, its session and that session's goal */
  head: HeadView;
  session: SessionView | null;
  goal: string | null;
}
export interface ConflictBody extends ErrorBody {
  conflicts: Conflict[];
  session: SessionView;
}

/** What the CLI needs; implemented by the HTTP client and, in-process, by the session service. */
export interface SessionApi {
  start(req: StartRequest): Promise<SessionBody>;
  create(req: CreateRequest): Promise<SessionBody>;
  list(q?: ListQuery): Promise<ListBody>;
  get(id: string): Promise<SessionDetailBody>;
  patch(id: string, req: PatchRequest): Promise<SessionBody>;
  conversation(id: string, req: ConversationRequest): Promise<SessionBody>;
  decisions(id: string, req: DecisionsRequest): Promise<SessionBody>;
  suspend(id: string): Promise<SessionBody>;
  resume(id: string): Promise<SessionBody>;
  abandon(id: string): Promise<SessionBody>;
  fail(id: string, req?: { reason?: string }): Promise<SessionBody>;
  remove(id: string): Promise<DeleteBody>;
  interactions(id: string, req: InteractionsRequest): Promise<InteractionsBody>;
  getCurrent(): Promise<CurrentBody>;
  setCurrent(req: { session_id: string | null }): Promise<CurrentBody>;
  sessionConfig(project: string): Promise<SessionConfig>;
  setSessionConfig(project: string, req: Partial<SessionConfig>): Promise<SessionConfig>;
  land(id: string, req?: LandRequest): Promise<LandBody>;
  files(id: string, req: { files: FileChangeInput[] }): Promise<FilesBody>;
  changes(id: string, q?: { content?: boolean }): Promise<ChangesBody>;
  diff(id: string): Promise<DiffBody>;
  rebase(id: string): Promise<RebaseBody>;
  handoff(id: string): Promise<HandoffBody>;
  serve(id: string, req?: ServeRequest): Promise<ServeBody>;
  head(project: string): Promise<HeadBody>;
  log(project: string, q?: { limit?: number; before?: string }): Promise<LogBody>;
  showHead(project: string, head: string): Promise<ShowBody>;
  blame(project: string, path: string): Promise<BlameBody>;
}
