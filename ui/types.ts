// The JSON the pages read, as the daemon sends it (src/session/record.ts, src/api/types.ts and
// src/ui/data.ts on the server; only the fields the pages use).
import type { Change } from './change-list.js';

export interface ChangeCounts {
  total: number;
  added: number;
  modified: number;
  deleted: number;
}

export interface SessionView {
  session_id: string;
  goal: string;
  description: string;
  project: string;
  status: string;
  export: string | null;
  base_head: string;
  changes: ChangeCounts;
  tags: string[];
  agent: string | null;
  started_at: string;
  landed_at: string | null;
  landed_head: string | null;
  ended_at: string | null;
}

export interface TimelineEvent {
  time: string;
  type: string;
  status?: string;
  from?: string;
  path?: string;
  change_type?: string;
  role?: string;
  decision?: string;
  head?: string;
  message?: string;
  conflicts?: number;
  node?: string;
  /** mounted / unmounted: the client's address */
  client?: string;
  /** unmounted: umnt, umntall, or gone (no connection for --mount-gone) */
  reason?: 'umnt' | 'umntall' | 'gone';
}

export interface SessionDetail extends SessionView {
  conversation: { role: string; content: string; time: string }[];
  decisions: { decision: string; reasoning: string; time: string }[];
  timeline: TimelineEvent[];
  message: string | null;
}

/** GET /ui/api/sessions/:id: the session page's one answer */
export interface SessionPageBody {
  session: SessionDetail;
  summary: ChangeCounts;
  changes: Change[];
}

export interface ChangesBody {
  summary: ChangeCounts;
  changes: Change[];
}

export interface SessionsBody {
  /** newest first */
  sessions: SessionView[];
  limit: number;
  next_cursor: string | null;
  projects: string[];
  /** tags on this page */
  tags: string[];
  /** live sessions only (active, suspended) */
  counts: Record<string, number>;
}

export interface HeadView {
  hash: string;
  tree: string;
  parent: string | null;
  session: string | null;
  message: string;
  time: string;
  goal?: string | null;
}

export interface LogHead extends HeadView {
  summary: ChangeCounts;
  author: string | null;
  session_status: string | null;
}

export interface TreeEntry {
  name: string;
  kind: string;
  mode: number;
  size: number;
  mtime: string;
  hash?: string;
  target?: string;
  text?: boolean;
}

export interface TreeBody {
  head: HeadView;
  path: string;
  entry: TreeEntry;
  entries?: TreeEntry[];
}

export interface BlameBody {
  path: string;
  head: string;
  content: string;
  origins: {
    head: string;
    message: string;
    time: string;
    session: string | null;
    goal: string | null;
    decision: { index: number; decision: string } | null;
  }[];
  ranges: { start: number; end: number; origin: number }[];
  truncated: boolean;
}

export interface ErrorBody {
  message?: string;
  conflicts?: unknown[];
}
