// What a session record keeps of a git commit: enough to write the commit again byte for byte
// (author and committer lines, encoding, message, parents) and to show who and when.
import { nameOf, bytesOf } from './paths.js';

export interface GitIdentity {
  name: string;
  email: string;
  time: number;
  tz: string;
}

/** Stored in SessionRecord.git (import-git) and in the export state. */
export interface GitCommitInfo {
  commit: string;
  parents: string[];
  /** the raw "name <email> time tz" lines, as text (bytes that are not UTF-8 escaped as in paths.ts) */
  author: string;
  committer: string;
  encoding: string | null;
  /** the message as text, or message_b64 when it is not UTF-8 */
  message?: string;
  message_b64?: string;
  /** submodules (gitlinks) of this commit's tree: path -> commit id */
  gitlinks?: Record<string, string>;
  /** the raw commit object (base64) when it carries headers fast-import cannot write (a signature) */
  raw_b64?: string;
  /** the commit's changes against its first parent, as import-git applied them, in fast-export's order:
   *  `M <mode> <sha256 of the blob, or the submodule's commit id> <path>`, `D <path>`, `deleteall`; paths are
   *  mic-fs names joined by '/' (bytesOf gives git's bytes back). export-git replays them instead of diffing
   *  trees. Absent in records of imports made before it and for commits of more than 4096 changes (export
   *  then diffs the trees). */
  changes?: string[];
}

export function parseIdentity(line: string): GitIdentity {
  const m = /^(.*?) ?<([^>]*)> (-?\d+) ([+-]\d{4})$/.exec(line);
  if (!m) return { name: line, email: '', time: 0, tz: '+0000' };
  return { name: m[1]!, email: m[2]!, time: Number(m[3]), tz: m[4]! };
}

export function isoOf(id: GitIdentity): string {
  return new Date(id.time * 1000).toISOString();
}

export const lineText = (b: Buffer): string => nameOf(b);
export const lineBytes = (s: string): Buffer => bytesOf(s);

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function messageFields(message: Buffer): Pick<GitCommitInfo, 'message' | 'message_b64'> {
  try {
    return { message: utf8.decode(message) };
  } catch {
    return { message_b64: message.toString('base64') };
  }
}

export function messageBytes(info: GitCommitInfo): Buffer {
  return info.message_b64 !== undefined ? Buffer.from(info.message_b64, 'base64') : Buffer.from(info.message ?? '', 'utf8');
}

/** The subject: the message's first paragraph on one line (as git log --oneline shows it). */
export function subjectOf(message: string): string {
  const para = message.replace(/^\s+/, '').split(/\n\s*\n/)[0] ?? '';
  return para.replace(/\s*\n\s*/g, ' ').trim() || '(no message)';
}
