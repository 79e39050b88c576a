// Projects: importing a directory as the first head, and reading the head.
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ObjectStore, TreeEntry, HeadRecord } from '../store/index.js';

export interface ImportProgress {
  files: number;
  bytes: number;
}

/** Import `dir` as a tree; returns the root tree hash and the next unused inode number. */
/** `.git` (a repository's directory, or the file of a worktree or submodule) is never imported: `skipped`
 *  lists where one was found (relative paths). */
export async function importTree(
  store: ObjectStore,
  dir: string,
  onProgress?: (p: ImportProgress) => void,
): Promise<{ tree: string; nextIno: number; skipped: string[] }> {
  let nextIno = 2; // 1 is the root
  const progress: ImportProgress = { files: 0, bytes: 0 };
  const skipped: string[] = [];
  async function walk(d: string): Promise<{ hash: string; dirs: number }> {
    const names = (await fs.readdir(d)).sort();
    const entries: TreeEntry[] = [];
    let dirs = 0;
    for (const name of names) {
      const p = path.join(d, name);
      if (name === '.git') {
        skipped.push(path.relative(dir, p));
        continue;
      }
      const st = await fs.lstat(p, { bigint: true });
      const mtime: [number, number] = [Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n)];
      const base = { name, mode: Number(st.mode) & 0o7777, ino: nextIno++, mtime };
      if (st.isDirectory()) {
        const sub = await walk(p);
        entries.push({ ...base, kind: 'dir', size: 0, hash: sub.hash, dirs: sub.dirs });
        dirs++;
      } else if (st.isFile()) {
        const content = await fs.readFile(p);
        entries.push({ ...base, kind: 'file', size: content.length, hash: await store.putBlob(content) });
        progress.files++;
        progress.bytes += content.length;
        onProgress?.(progress);
      } else if (st.isSymbolicLink()) {
        const target = await fs.readlink(p);
        entries.push({ ...base, kind: 'symlink', size: Buffer.byteLength(target), target });
      }
    }
    return { hash: await store.writeDir(entries), dirs };
  }
  const root = await walk(dir);
  return { tree: root.hash, nextIno, skipped };
}

/** Create a project's first head; fails if the project already has one. */
export async function initProject(store: ObjectStore, tree: string, nextIno: number, message: string): Promise<string> {
  const record: HeadRecord = { tree, nextIno, parent: null, session: null, message, time: new Date().toISOString() };
  const ok = await store.casHead(null, 0, record);
  if (!ok) throw new Error(`project ${store.project} already has a head`);
  const head = await store.getHead();
  return head!.hash;
}

export function nonce(): string {
  return randomBytes(8).toString('hex');
}
