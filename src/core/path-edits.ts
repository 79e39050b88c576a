// Edits by name, for the API and rebase (session/apply.ts): what they change is exactly what the mount
// shows. No permission checks (the API acts for the session's owner); each edit runs inside mutate(),
// so a frozen session refuses it and freeze waits for it.
import { FileType, FsError, NfsStatus, StableHow, type SetAttrs } from './attrs.js';
import type { Inode } from './inode.js';
import type { SessionState } from './session-state.js';
import { commitData, createFile, link, makeDir, makeNode, makeSymlink, removeDir, setAttributes, unlink, writeData } from './edits.js';

const CHUNK = 1024 * 1024;

export interface Owner {
  uid: number;
  gid: number;
}

/** The directory at `parts` below the root, creating missing ones when asked (null if missing otherwise). */
export async function dirAt(s: SessionState, parts: readonly string[], owner: Owner, create: boolean): Promise<Inode | null> {
  let d = s.root;
  for (const p of parts) {
    const n = await s.lookup(d, p);
    if (n) {
      if (n.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR, `${p} is not a directory`);
      d = n;
    } else if (create) {
      d = await s.mutate(async () => {
        const dir = await s.listing(d);
        const again = dir.get(p);
        if (again) return s.child(again);
        return (await makeDir(s, d, dir, p, { mode: 0o755, uid: owner.uid, gid: owner.gid })).n;
      });
      if (d.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR, `${p} is not a directory`);
    } else return null;
  }
  return d;
}

/** Writes a whole file (replacing whatever has the name); an existing file keeps its owner and, unless given, its mode. */
export async function writeFileIn(
  s: SessionState,
  d: Inode,
  name: string,
  content: Buffer,
  mode: number | undefined,
  owner: Owner,
): Promise<Inode> {
  const existing = await s.lookup(d, name);
  if (existing && existing.type !== FileType.REG) await removeIn(s, d, name);
  return s.mutate(async () => {
    const dir = await s.listing(d);
    const slot = dir.get(name);
    let n: Inode;
    if (slot && s.child(slot).type === FileType.REG) {
      n = s.child(slot);
      await setAttributes(s, n, { size: 0 });
      if (mode !== undefined) await setAttributes(s, n, { mode });
    } else {
      n = (await createFile(s, d, dir, name, { mode: mode ?? 0o644, uid: owner.uid, gid: owner.gid })).n;
    }
    for (let off = 0; off < content.length; off += CHUNK) {
      await writeData(s, n, off, content.subarray(off, off + CHUNK), StableHow.UNSTABLE);
    }
    await commitData(s, n);
    return n;
  });
}

/** Removes a name; a directory with everything in it. No-op when absent. */
export async function removeIn(s: SessionState, d: Inode, name: string): Promise<void> {
  const n = await s.lookup(d, name);
  if (!n) return;
  if (n.type !== FileType.DIR) {
    await s.mutate(async () => {
      await unlink(s, d, await s.listing(d), name);
    });
    return;
  }
  const names = [...(await s.listing(n)).after(0)].map((slot) => slot.name);
  for (const child of names) await removeIn(s, n, child);
  await s.mutate(async () => {
    await removeDir(s, d, await s.listing(d), name);
  });
}

export function setAttrsOf(s: SessionState, n: Inode, set: SetAttrs): Promise<void> {
  return s.mutate(async () => {
    await setAttributes(s, n, set);
  });
}

export async function symlinkIn(s: SessionState, d: Inode, name: string, target: string, owner: Owner): Promise<Inode> {
  return s.mutate(async () => (await makeSymlink(s, d, await s.listing(d), name, target, { mode: 0o777, ...owner })).n);
}

export async function nodeIn(
  s: SessionState,
  d: Inode,
  name: string,
  type: FileType,
  mode: number,
  owner: Owner,
  rdev: [number, number] = [0, 0],
): Promise<Inode> {
  return s.mutate(async () => (await makeNode(s, d, await s.listing(d), name, type, { mode, ...owner }, rdev)).n);
}

export async function mkdirIn(s: SessionState, d: Inode, name: string, mode: number, owner: Owner): Promise<Inode> {
  return s.mutate(async () => (await makeDir(s, d, await s.listing(d), name, { mode, ...owner })).n);
}

/** A new name `name` in d for the file n (a hard link). */
export async function linkIn(s: SessionState, n: Inode, d: Inode, name: string): Promise<void> {
  await s.mutate(async () => {
    await link(s, n, d, await s.listing(d), name);
  });
}
