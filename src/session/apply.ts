// Applying changes to a live session through its filesystem, exactly as an NFS client would: whatever is
// applied here is what the mount shows. Used for the API's inline files and for rebase.
import type { SessionFs } from '../fs/session-fs.js';
import { KIND_TYPE } from '../fs/inode.js';
import { FileType, FsError, NfsStatus, StableHow, type Cred } from '../fs/types.js';
import { EMPTY_TREE, type ObjectStore, type TreeEntry } from '../store/index.js';
import { ApiError } from './errors.js';
import type { FileInput } from './input.js';

const ROOT: Cred = { uid: 0, gid: 0, gids: [] };
const ZERO_VERF = Buffer.alloc(8);
const CHUNK = 1024 * 1024;

export interface Owner { uid: number; gid: number }

interface Node { fh: Buffer; type: FileType }

async function lookup(fs: SessionFs, dir: Buffer, name: string): Promise<Node | null> {
  try {
    const r = await fs.lookup(dir, name, ROOT);
    return { fh: r.node.fh, type: r.node.attrs.type };
  } catch (e) {
    if (e instanceof FsError && e.status === NfsStatus.NOENT) return null;
    throw e;
  }
}

/** Checks every file against the session's tree before anything is changed. */
export async function precheckFiles(fs: SessionFs, files: readonly FileInput[], field = 'files'): Promise<void> {
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    let dir = fs.rootHandle();
    for (let k = 0; k < f.parts.length; k++) {
      const last = k === f.parts.length - 1;
      const n = await lookup(fs, dir, f.parts[k]);
      if (!n) break;
      if (!last) {
        if (n.type !== FileType.DIR) throw ApiError.invalid(`${field}[${i}].path`, `${f.parts.slice(0, k + 1).join('/')} is not a directory`);
        dir = n.fh;
      } else if (n.type === FileType.DIR && f.change_type !== 'deleted') {
        throw ApiError.invalid(`${field}[${i}].path`, `${f.path} is a directory`);
      }
    }
  }
}

/** Applies files in order: added/modified write the content (creating directories), deleted removes (recursively). */
export async function applyFiles(fs: SessionFs, owner: Owner, files: readonly FileInput[]): Promise<void> {
  for (const f of files) {
    const dirParts = f.parts.slice(0, -1);
    const name = f.parts[f.parts.length - 1];
    if (f.change_type === 'deleted') {
      const dir = await walkDirs(fs, dirParts, owner, false);
      if (dir) await removePath(fs, dir, name);
      continue;
    }
    const dir = (await walkDirs(fs, dirParts, owner, true))!;
    await writeFile(fs, dir, name, f.content ?? Buffer.alloc(0), f.mode, owner);
  }
}

/** The handle of a directory path, creating missing directories when asked (null if missing otherwise). */
export async function walkDirs(fs: SessionFs, parts: readonly string[], owner: Owner, create: boolean): Promise<Buffer | null> {
  let dir = fs.rootHandle();
  for (const p of parts) {
    const n = await lookup(fs, dir, p);
    if (n) {
      if (n.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR, `${p} is not a directory`);
      dir = n.fh;
    } else if (create) {
      dir = (await fs.mkdir(dir, p, { mode: 0o755, uid: owner.uid, gid: owner.gid }, ROOT)).fh;
    } else return null;
  }
  return dir;
}

export async function writeFile(fs: SessionFs, dir: Buffer, name: string, content: Buffer, mode: number | undefined, owner: Owner): Promise<Buffer> {
  const existing = await lookup(fs, dir, name);
  if (existing && existing.type !== FileType.REG) await removePath(fs, dir, name);
  const attrs = existing && existing.type === FileType.REG
    ? { size: 0, ...(mode !== undefined ? { mode } : {}) }
    : { size: 0, mode: mode ?? 0o644, uid: owner.uid, gid: owner.gid };
  const fh = (await fs.create(dir, name, { kind: 'unchecked', attrs }, ROOT)).fh;
  if (existing && existing.type === FileType.REG && mode !== undefined) await fs.setattr(fh, { mode }, null, ROOT);
  for (let off = 0; off < content.length; off += CHUNK) {
    await fs.write(fh, off, content.subarray(off, off + CHUNK), StableHow.UNSTABLE, ROOT);
  }
  await fs.commit(fh);
  return fh;
}

/** Removes a name; a directory with everything in it. No-op when absent. */
export async function removePath(fs: SessionFs, dir: Buffer, name: string): Promise<void> {
  const n = await lookup(fs, dir, name);
  if (!n) return;
  if (n.type !== FileType.DIR) {
    await fs.remove(dir, name, ROOT);
    return;
  }
  const listing = await fs.readdir(n.fh, 0n, ZERO_VERF, ROOT);
  const names: string[] = [];
  for (let it = listing.entries.next(); !it.done; it = listing.entries.next()) {
    if (it.value.name !== '.' && it.value.name !== '..') names.push(it.value.name);
  }
  for (const child of names) await removePath(fs, n.fh, child);
  await fs.rmdir(dir, name, ROOT);
}

/**
 * Makes the directory at `dir` go from tree `from` to tree `to` (both content-addressed), one name at a time:
 * used by rebase to replay the session's merged changes over a fresh view of the new base.
 */
export async function applyTreeDiff(fs: SessionFs, store: ObjectStore, dir: Buffer, from: string, to: string, owner: Owner): Promise<void> {
  if (from === to) return;
  for (const c of await store.diffDir(from, to)) {
    const a: TreeEntry | null = c.after;
    if (!a) { await removePath(fs, dir, c.name); continue; }
    if (a.kind === 'dir') {
      let sub = await lookup(fs, dir, c.name);
      if (sub && sub.type !== FileType.DIR) { await removePath(fs, dir, c.name); sub = null; }
      const fh = sub ? sub.fh : (await fs.mkdir(dir, c.name, { mode: a.mode, uid: owner.uid, gid: owner.gid }, ROOT)).fh;
      if (sub && c.before?.kind === 'dir' && c.before.mode !== a.mode) await fs.setattr(fh, { mode: a.mode }, null, ROOT);
      await applyTreeDiff(fs, store, fh, c.before?.kind === 'dir' ? c.before.hash ?? EMPTY_TREE : EMPTY_TREE, a.hash ?? EMPTY_TREE, owner);
      continue;
    }
    if (a.kind === 'file') {
      if (c.before?.kind === 'file' && c.before.hash === a.hash) {
        const n = await lookup(fs, dir, c.name);
        if (n) await fs.setattr(n.fh, { mode: a.mode }, null, ROOT);
        continue;
      }
      const content = a.hash ? await store.getBlob(a.hash) : Buffer.alloc(0);
      const fh = await writeFile(fs, dir, c.name, content, a.mode, owner);
      await fs.setattr(fh, { mtime: { sec: a.mtime[0], nsec: a.mtime[1] } }, null, ROOT);
      continue;
    }
    await removePath(fs, dir, c.name);
    if (a.kind === 'symlink') await fs.symlink(dir, c.name, a.target ?? '', { uid: owner.uid, gid: owner.gid }, ROOT);
    else await fs.mknod(dir, c.name, KIND_TYPE[a.kind], { mode: a.mode, uid: owner.uid, gid: owner.gid }, a.rdev ?? [0, 0], ROOT);
  }
}
