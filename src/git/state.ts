// What import-git and export-git remember, as JSON documents of the project (git/...).
import { createHash } from 'node:crypto';
import type { ObjectStore } from '../store/index.js';

export const IMPORT_STATE = 'git/import.json';

export interface ImportState {
  repo: string;
  ref: string;
  /** the last imported tip commit and its head */
  tip: string;
  tip_head: string;
  /** every imported commit id -> the head that holds its tree */
  commits: Record<string, string>;
}

/** One document per target repository. */
export interface ExportState {
  repo: string;
  branch: string;
  /** head -> commit id exported for it */
  heads: Record<string, string>;
  /** the head the branch was last moved to */
  tip_head: string | null;
}

export function exportStateKey(repoPath: string): string {
  return `git/export-${createHash('sha256').update(repoPath).digest('hex').slice(0, 16)}.json`;
}

export async function readImportState(store: ObjectStore): Promise<ImportState | null> {
  return store.getJson<ImportState>(IMPORT_STATE);
}
