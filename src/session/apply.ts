// Applying changes to a live session through its copy-on-write state, by path (core/path-edits.ts):
// whatever is applied here is what the mount shows. Used for the API's inline files and for rebase.
import type { SessionState } from '../core/session-state.js';
import { KIND_TYPE, type Inode } from '../core/inode.js';
import { FileType } from '../core/attrs.js';
import { fromPair } from '../core/time.js';
import { dirAt, linkIn, mkdirIn, nodeIn, removeIn, setAttrsOf, symlinkIn, writeFileIn, type Owner } from '../core/path-edits.js';
import { EMPTY_TREE, type ObjectStore, type TreeEntry } from '../store/index.js';
import { InvalidInputError } from './errors.js';
import type { FileInput } from './input.js';

export type { Owner };

/**
 * Checks every file against the session's tree before anything is changed, in order (an earlier entry of
 * the list counts): the path's parents are directories, and the declared change_type is what the tree
 * says: added = nothing there yet, modified = a file there, deleted = something there. "auto" entries get
 * the type the tree says.
 */
export async function precheckFiles(s: SessionState, files: FileInput[], field = 'files'): Promise<void> {
  /** what earlier entries did: path -> exists afterwards */
  const after = new Map<string, boolean>();
  const earlier = (parts: string[]): boolean | undefined => {
    for (let k = parts.length; k > 0; k--) {
      const v = after.get(parts.slice(0, k).join('/'));
      if (v === false) return false; // it, or a parent, was deleted
      if (v === true && k === parts.length) return true;
    }
    return undefined;
  };
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    let dir = s.root;
    let exists = true;
    for (let k = 0; k < f.parts.length; k++) {
      const last = k === f.parts.length - 1;
      const n = await s.lookup(dir, f.parts[k]!);
      if (!n) {
        exists = false;
        break;
      }
      if (!last) {
        if (n.type !== FileType.DIR)
          throw new InvalidInputError(`${field}[${i}].path`, `${f.parts.slice(0, k + 1).join('/')} is not a directory`);
        dir = n;
      } else if (n.type === FileType.DIR && f.change_type !== 'deleted') {
        throw new InvalidInputError(`${field}[${i}].path`, `${f.path} is a directory`);
      }
    }
    exists = earlier(f.parts) ?? exists;
    if (f.auto) f.change_type = exists ? 'modified' : 'added';
    else if (f.change_type === 'added' && exists)
      throw new InvalidInputError(`${field}[${i}].change_type`, `${f.path} already exists: its change_type is modified (or give "auto")`);
    else if (f.change_type !== 'added' && !exists)
      throw new InvalidInputError(
        `${field}[${i}].change_type`,
        `${f.path} does not exist: ${f.change_type === 'modified' ? 'its change_type is added' : 'nothing to delete'} (or give "auto")`,
      );
    after.set(f.path, f.change_type !== 'deleted');
  }
}

/** Applies files in order: added/modified write the content (creating directories), deleted removes (recursively). */
export async function applyFiles(s: SessionState, owner: Owner, files: readonly FileInput[]): Promise<void> {
  for (const f of files) {
    const dirParts = f.parts.slice(0, -1);
    const name = f.parts[f.parts.length - 1];
    if (f.change_type === 'deleted') {
      const dir = await dirAt(s, dirParts, owner, false);
      if (dir) await removeIn(s, dir, name);
      continue;
    }
    const dir = (await dirAt(s, dirParts, owner, true))!;
    await writeFileIn(s, dir, name, f.content ?? Buffer.alloc(0), f.mode, owner);
  }
}

/**
 * Makes the directory `dir` go from tree `from` to tree `to` (both content-addressed), one name at a time:
 * used by rebase to replay the session's merged changes over a fresh view of the new base.
 *
 * An object keeps its inode number only where `to` says it is the same object (the same ino as in `from`):
 * a name whose ino differs (the session replaced the file, or moved another object there; merge.ts numbers
 * those afresh) is removed and made again under a fresh number. Writing it into the old object instead would
 * let a handle of that object, held by a client across the rebase, name another file (handles.ts).
 *
 * Hard links: the names of one inode in `to` (TreeEntry.links > 1, one ino) become names of one object: the
 * one kept in place under one of them, else the first one made; the others are linked to it once every
 * directory is done. A name of the group whose content differs from the object's (a conflict kept the head's
 * version at another name) is made on its own.
 */
export async function applyTreeDiff(
  s: SessionState,
  store: ObjectStore,
  dir: Inode,
  from: string,
  to: string,
  owner: Owner,
): Promise<void> {
  const links: Links = { made: new Map(), later: [] };
  await applyDir({ s, store, owner, links }, dir, from, to);
  for (const { d, e } of links.later) {
    let n = links.made.get(e.ino) ?? (e.ino < s.start.nextIno ? await s.find(e.ino) : null);
    // the head's object under that number holds other content (a conflict kept it at its other name)
    if (n && (n.type !== FileType.REG || (!links.made.has(e.ino) && (n.dirty || n.blob !== (e.hash ?? null))))) n = null;
    if (n) {
      await linkIn(s, n, d, e.name);
      continue;
    }
    links.made.set(e.ino, await fileOf(s, store, d, e, owner));
  }
}

/** Hard-linked files of a tree being applied: the object of each ino, and the names to link to it at the end. */
interface Links {
  made: Map<number, Inode>;
  later: { d: Inode; e: TreeEntry }[];
}

async function fileOf(s: SessionState, store: ObjectStore, dir: Inode, a: TreeEntry, owner: Owner): Promise<Inode> {
  const content = a.hash ? await store.getBlob(a.hash) : Buffer.alloc(0);
  const n = await writeFileIn(s, dir, a.name, content, a.mode, owner);
  await setAttrsOf(s, n, { mtime: fromPair(a.mtime) });
  return n;
}

/** What applyDir works with in every directory. */
interface Applying {
  s: SessionState;
  store: ObjectStore;
  owner: Owner;
  links: Links;
}

async function applyDir(x: Applying, dir: Inode, from: string, to: string): Promise<void> {
  const { s, store, owner, links } = x;
  if (from === to) return;
  for (const c of await store.diffDir(from, to)) {
    const a: TreeEntry | null = c.after;
    if (!a) {
      await removeIn(s, dir, c.name);
      continue;
    }
    if (c.before && c.before.ino !== a.ino) {
      await removeIn(s, dir, c.name);
      c.before = null;
    }
    if (a.kind === 'dir') {
      let sub = await s.lookup(dir, c.name);
      if (sub && sub.type !== FileType.DIR) {
        await removeIn(s, dir, c.name);
        sub = null;
      }
      const d = sub ?? (await mkdirIn(s, dir, c.name, a.mode, owner));
      if (sub && c.before?.kind === 'dir' && c.before.mode !== a.mode) await setAttrsOf(s, d, { mode: a.mode });
      await applyDir(x, d, c.before?.kind === 'dir' ? (c.before.hash ?? EMPTY_TREE) : EMPTY_TREE, a.hash ?? EMPTY_TREE);
      continue;
    }
    if (a.kind === 'file') {
      const linked = (a.links ?? 1) > 1;
      if (linked && !c.before) {
        // a new name of a hard-linked file: linked to the group's object once it is known (after every directory)
        await removeIn(s, dir, c.name);
        links.later.push({ d: dir, e: a });
        continue;
      }
      if (c.before?.kind === 'file' && c.before.hash === a.hash) {
        const n = await s.lookup(dir, c.name);
        if (n) await setAttrsOf(s, n, { mode: a.mode });
        if (n && linked) links.made.set(a.ino, n);
        continue;
      }
      const n = await fileOf(s, store, dir, a, owner);
      if (linked) links.made.set(a.ino, n);
      continue;
    }
    await removeIn(s, dir, c.name);
    if (a.kind === 'symlink') await symlinkIn(s, dir, c.name, a.target ?? '', owner);
    else await nodeIn(s, dir, c.name, KIND_TYPE[a.kind], a.mode, owner, a.rdev ?? [0, 0]);
  }
}
