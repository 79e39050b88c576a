// What import-git writes for each commit besides its tree: the head record's hash (computed here, as
// ObjectStore.putHeadRecord would) and the landed session's record, whose id names the commit.
import { createHash } from 'node:crypto';
import type { HeadRecord } from '../store/index.js';
import type { SessionRecord } from '../session/record.js';
import { subjectOf, type GitCommitInfo, type GitIdentity } from './commit-info.js';

const projectTags = new Map<string, string>();

export function sessionIdFor(project: string, commit: string): string {
  let tag = projectTags.get(project);
  if (tag === undefined) projectTags.set(project, (tag = createHash('sha256').update(project).digest('hex').slice(0, 8)));
  return `git-${commit.slice(0, 20)}-${tag}`;
}

/** The bytes ObjectStore.putHeadRecord stores for a record (canonical key order); their SHA-256 is its hash. */
export function headRecordBytes(r: HeadRecord): Buffer {
  return Buffer.from(
    JSON.stringify({ tree: r.tree, nextIno: r.nextIno, parent: r.parent, session: r.session, message: r.message, time: r.time }),
    'utf8',
  );
}

export interface ImportedRecordFields {
  sid: string;
  project: string;
  msg: string;
  /** the parent commit's head; null for a root commit */
  parentHead: string | null;
  base: { tree: string; nextIno: number };
  owner: { uid: number; gid: number };
  ai: GitIdentity;
  ci: GitIdentity;
  aIso: string;
  cIso: string;
  now: string;
  head: string;
  oid: string;
  /** paths the commit changed */
  changed: number;
  sealed: { tree: string; nextIno: number };
  info: GitCommitInfo;
}

/** The landed session's record. */
export function importedRecord(f: ImportedRecordFields): SessionRecord & { git: GitCommitInfo; user: string } {
  const { ai, ci, aIso, cIso, now, head, msg } = f;
  return {
    session_id: f.sid,
    project: f.project,
    goal: subjectOf(msg).slice(0, 4096),
    description: '',
    status: 'landed',
    // a root commit has no base head: null, as mic fsck reads "none" (a session started normally always has one)
    base: { head: f.parentHead ?? (null as unknown as string), tree: f.base.tree, nextIno: f.base.nextIno, time: [ai.time, 0] },
    owner: f.owner,
    started_at: aIso,
    landed_at: cIso,
    conversation: [],
    decisions: [],
    metadata: {
      source: 'import-git',
      git_commit: f.oid,
      git_author: `${ai.name} <${ai.email}>`,
      git_author_date: aIso,
      git_committer: `${ci.name} <${ci.email}>`,
      git_committer_date: cIso,
    },
    tags: ['git-import'],
    user: `${ai.name} <${ai.email}>`,
    changes: { total: f.changed, added: 0, modified: 0, deleted: 0 },
    timeline: [
      { time: aIso, type: 'started', head: f.parentHead ?? '' },
      { time: cIso, type: 'landed', head, message: subjectOf(msg) },
      { time: now, type: 'metadata' },
    ],
    landed_head: head,
    sealed: f.sealed,
    message: msg,
    updated_at: now,
    git: f.info,
  };
}
