// The session record: what a unit of work is for, and where it started.
import { createHash, randomBytes } from 'node:crypto';

// Our statuses and the seeds' (docs/api.md): complete = landed, cancelled = abandoned. suspended and failed
// keep the tree and export it read-only; failed (an agent gave up) is not landable until resumed.
export type SessionStatus = 'active' | 'suspended' | 'failed' | 'landed' | 'abandoned';

export const STATUSES: readonly SessionStatus[] = ['active', 'suspended', 'failed', 'landed', 'abandoned'];
/** the values of a session's environment and execution_mode */
export const ENVIRONMENTS = ['local', 'vscode'] as const;
export const EXECUTION_MODES = ['manual', 'agentic'] as const;

export interface ChangesSummary {
  total: number;
  added: number;
  modified: number;
  deleted: number;
}

export type TimelineType =
  | 'started'
  | 'status'
  | 'conversation'
  | 'decision'
  | 'file'
  | 'metadata'
  | 'landed'
  | 'land_conflict'
  | 'rebased'
  | 'handed_off'
  | 'served'
  /** a client mounted / unmounted the session's export (MOUNT MNT / UMNT, UMNTALL) */
  | 'mounted'
  | 'unmounted';

/** One event of a session's history. Only the fields that apply to `type` are set. */
export interface TimelineEvent {
  /** 1, 2, 3, ...: the order the facts were recorded in (timeline.ts) */
  seq?: number;
  time: string;
  type: TimelineType;
  /** who did it: the API caller (absent: unknown, e.g. a change made through the mount) */
  actor?: string | null;
  /** file: how the change came in (the API's files, or the mount, found when the session was sealed) */
  via?: 'api' | 'mount';
  /** status: the new status; from: the old one */
  status?: SessionStatus;
  from?: SessionStatus;
  /** file: the path and how it changed (landing adds one per change, at the file's mtime) */
  path?: string;
  change_type?: 'added' | 'modified' | 'deleted';
  /** conversation: who spoke */
  role?: string;
  /** decision: the decision */
  decision?: string;
  /** landed / rebased: the head */
  head?: string;
  message?: string;
  conflicts?: number;
  /** mounted / unmounted: the client's address (path: the directory mounted, when not the export's root) */
  client?: string;
  /** unmounted: umnt, umntall, or gone (the client's connections closed and it did not come back) */
  reason?: 'umnt' | 'umntall' | 'gone';
  /** handed_off / served: the data dir's node id (ownership.ts) */
  node?: string;
  /** handed_off: the generation of the holder ref it released (ownership.ts) */
  generation?: number;
  /** file / rebased / handed_off / served: the session's tree after the event; landed: the head's tree
   *  (mountable read-only: /exports/projects/<org>/<name>/trees/<tree>) */
  tree?: string;
}

export interface SessionRecord {
  session_id: string;
  project: string;
  goal: string;
  description: string;
  status: SessionStatus;
  /** the head the session started from */
  base: { head: string; tree: string; nextIno: number; time: [number, number] };
  /** owner of the base tree's files as the mount shows them */
  owner: { uid: number; gid: number };
  started_at: string;
  landed_at: string | null;
  conversation: { role: string; content: string; time: string }[];
  decisions: { decision: string; reasoning: string; time: string }[];
  /** any JSON values (input.ts limits the size) */
  metadata: Record<string, unknown>;
  tags: string[];
  // ---- added with landing; optional so that older records still read ----
  /** who runs the session, where, and how */
  agent?: string;
  /** who started it: the API user (or local:<login> for the CLI on a data directory; the author for an imported commit) */
  user?: string;
  /** the one AUTH_SYS uid (besides root) its export serves; absent: any caller */
  nfs_uid?: number;
  environment?: (typeof ENVIRONMENTS)[number];
  execution_mode?: (typeof EXECUTION_MODES)[number];
  /** changes against the base: set on landing (and refreshed whenever computed) */
  changes?: ChangesSummary | null;
  timeline?: TimelineEvent[];
  /** the head the landing created, and the sealed session tree it merged */
  landed_head?: string | null;
  sealed?: { tree: string; nextIno: number } | null;
  /** the landing message */
  message?: string | null;
  /** abandoned sessions: when */
  ended_at?: string | null;
  updated_at?: string;
  /** seed 002: the session's workflow type (one of its project's session types, session-config.ts) */
  type?: string;
  /** seed 002: session-type-specific state (a JSON object, size-limited) */
  state?: Record<string, unknown>;
  /** seed 002: the agent's own conversation id, for resuming agentic sessions */
  external_conversation_id?: string | null;
  /** seed 002: the component the session works on */
  component?: string | null;
  /** seed 002: command/result pairs (interactions.ts) */
  interactions?: Interaction[];
  /** failed sessions: why the agent gave up */
  failure?: { reason: string; time: string } | null;
  /** bumped by rebase and handoff: handles of objects the session made before are STALE (handles.ts) */
  epoch?: number;
  /** set by the first rebase: the export keeps the fsid of epoch `epoch` (whose base's nextIno was
   *  `nextIno`) across rebases, so a mount survives them; a handoff drops it (a new fsid: every old handle
   *  is STALE). Absent: the fsid is the current epoch's. `revoked`: base inode numbers a rebase withdrew
   *  (the session had moved their objects: moved.ts); their handles are good in the epoch that made them only. */
  fsid_from?: { epoch: number; nextIno: number; revoked?: number[] };
}

/** One command run in the session and what it gave (seed 002's embedded interactions). */
export interface Interaction {
  command: string;
  result: string;
  exit_status: number | null;
  started_at: string;
  ended_at: string;
  duration_ms: number;
  /** the directory it ran in, when known */
  cwd: string | null;
  /** who recorded it */
  actor: string | null;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidSessionId(id: string): boolean {
  return ID.test(id);
}

export function newSessionId(): string {
  return `sess-${randomBytes(6).toString('hex')}`;
}

export const EXPORT_PREFIX = '/exports/sessions/';

export function exportPath(id: string): string {
  return EXPORT_PREFIX + id;
}

/** The epoch a session's export fsid is made in and that epoch's base nextIno: the current epoch, unless a
 *  rebase kept the fsid of an earlier one (SessionRecord.fsid_from). */
export function fsidFrom(r: SessionRecord): { epoch: number; nextIno: number; revoked?: number[] } {
  return r.fsid_from ?? { epoch: r.epoch ?? 0, nextIno: r.base.nextIno };
}

/** Each session export has its own fsid, derived from its id and epoch (never 0; epoch 0 keeps the fsid of
 *  before epochs existed). A rebase keeps it (fsidFrom), a handoff changes it. */
export function fsidOf(id: string, epoch = 0): bigint {
  const v = createHash('sha256')
    .update(epoch ? `mic-fs fsid:${id}:${epoch}` : `mic-fs fsid:${id}`)
    .digest()
    .readBigUInt64BE(0);
  return v === 0n ? 1n : v;
}

export function isLive(r: SessionRecord): boolean {
  return r.status === 'active' || r.status === 'suspended' || r.status === 'failed';
}

export function isEnded(r: SessionRecord): boolean {
  return r.status === 'landed' || r.status === 'abandoned';
}

/** the type of a session that names none (and of records older than types) */
export const DEFAULT_TYPE = 'general';

export const ZERO_CHANGES: ChangesSummary = Object.freeze({ total: 0, added: 0, modified: 0, deleted: 0 });

/** The public view of a session record (the API's field names), with its export path. */
export interface SessionView {
  id: string;
  session_id: string;
  goal: string;
  description: string;
  organization: string;
  project: string;
  status: SessionStatus;
  export: string | null;
  base_head: string;
  base_tree: string;
  conversation_count: number;
  decisions_count: number;
  changes: ChangesSummary;
  metadata: Record<string, unknown>;
  tags: string[];
  type: string;
  state: Record<string, unknown>;
  external_conversation_id: string | null;
  component_id: string | null;
  interactions_count: number;
  failure: { reason: string; time: string } | null;
  agent: string | null;
  environment: string | null;
  execution_mode: string;
  started_at: string;
  landed_at: string | null;
  landed_head: string | null;
  ended_at: string | null;
  updated_at: string;
  /** the design's names for export, base_tree and the landed head (gRPC StartSessionResponse) */
  nfs_export_path: string | null;
  base_tree_hash: string;
  landed_commit: string | null;
  /** the schema's owner fields: the user who started it, and its account (the organization) */
  user_id: string | null;
  account_id: string;
  /** the AUTH_SYS uid the export is bound to, or null */
  nfs_uid: number | null;
}

export function sessionView(r: SessionRecord): SessionView {
  return {
    id: r.session_id,
    session_id: r.session_id,
    goal: r.goal,
    description: r.description,
    organization: r.project.split('/')[0],
    project: r.project,
    status: r.status,
    export: isLive(r) ? exportPath(r.session_id) : null,
    base_head: r.base.head,
    base_tree: r.base.tree,
    conversation_count: r.conversation.length,
    decisions_count: r.decisions.length,
    changes: { ...(r.changes ?? ZERO_CHANGES) },
    metadata: r.metadata,
    tags: r.tags,
    type: r.type ?? DEFAULT_TYPE,
    state: r.state ?? {},
    external_conversation_id: r.external_conversation_id ?? null,
    component_id: r.component ?? null,
    interactions_count: r.interactions?.length ?? 0,
    failure: r.failure ?? null,
    agent: r.agent ?? null,
    environment: r.environment ?? null,
    execution_mode: r.execution_mode ?? 'manual',
    started_at: r.started_at,
    landed_at: r.landed_at,
    landed_head: r.landed_head ?? null,
    ended_at: r.ended_at ?? null,
    updated_at: r.updated_at ?? r.landed_at ?? r.started_at,
    nfs_export_path: isLive(r) ? exportPath(r.session_id) : null,
    base_tree_hash: r.base.tree,
    landed_commit: r.landed_head ?? null,
    user_id: r.user ?? null,
    account_id: r.project.split('/')[0]!,
    nfs_uid: r.nfs_uid ?? null,
  };
}

/** The full record as GET /api/sessions/:id shows it: the view plus conversation, decisions and timeline. */
export interface SessionDetail extends SessionView {
  conversation: SessionRecord['conversation'];
  decisions: SessionRecord['decisions'];
  timeline: TimelineEvent[];
  interactions: Interaction[];
  message: string | null;
  /** live sessions: the node id of the data dir serving it, null when handed off (or never opened) */
  served_by: string | null;
}

export function sessionDetail(r: SessionRecord): SessionDetail {
  return {
    ...sessionView(r),
    conversation: r.conversation,
    decisions: r.decisions,
    timeline: (r.timeline ?? []).map((e, i) => (e.seq === undefined ? { ...e, seq: i + 1 } : e)), // seq: timeline.ts
    interactions: r.interactions ?? [],
    message: r.message ?? null,
    served_by: null,
  };
}

/** The design's status names for ours: complete = landed, cancelled = abandoned (docs/api.md). */
export const STATUS_ALIASES: Readonly<Record<string, SessionStatus>> = {
  complete: 'landed',
  completed: 'landed',
  cancelled: 'abandoned',
  canceled: 'abandoned',
};
