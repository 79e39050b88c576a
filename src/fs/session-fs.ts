// The NFS adapter of a session: implements FileSystem (the 19 procedures' view) over the session's
// copy-on-write state (src/core/). It adds what is NFS's own: file handles (session-handles.ts), AUTH_SYS
// permission checks, wcc data, and JUKEBOX for slow base reads; READ, WRITE and COMMIT are in session-file-io.ts
// (which this class extends); the changes themselves are the core's (core/edits.ts).
import {
  ACCESS,
  FileType,
  FsError,
  NfsStatus,
  type Attrs,
  type CreateHow,
  type CreateResult,
  type Cred,
  type DirListing,
  type FileSystem,
  type FsStat,
  type NfsTime,
  type SetAttrs,
  type Wcc,
  type WccAttr,
} from './file-system.js';
import type { Inode } from '../core/inode.js';
import type { Directory } from '../core/directory.js';
import { MAX_FILE_SIZE, ROOT_INO, SessionState, type NewAttrs, type SessionStateOptions } from '../core/session-state.js';
import * as edit from '../core/edits.js';
import { cookieVerfOf, type HandleEpochs } from './handle-epochs.js';
import type { SessionFsOptions } from './session-handles.js';
import { SessionFileIo } from './session-file-io.js';

export type { HandleEpochs, SessionFsOptions };
import { accessMask, checkDelete, newOwner, permBits, setattrAllowed } from './access.js';
import { checkLookupName, checkName } from './names.js';
import { dirListing } from './dir-listing.js';
import { fsStatOf } from './fs-stat.js';

export { ROOT_INO };

export class SessionFs extends SessionFileIo implements FileSystem {
  /** READDIR's cookie verifier: the epochs are fixed for this filesystem's life (a rebase opens a new one) */
  private readonly cookieVerf: Buffer;
  readonly maxFileSize = MAX_FILE_SIZE;

  constructor(state: SessionState, o: SessionFsOptions) {
    super(state, o);
    this.cookieVerf = cookieVerfOf(o.epochs);
  }

  /** Open a session's state and its adapter (tests; the daemon opens the state through session/fs-base.ts). */
  static async open(o: SessionStateOptions & SessionFsOptions): Promise<SessionFs> {
    return new SessionFs(await SessionState.open(o), o);
  }

  /** a read-only view (a snapshot export), not a session that is read-only for now (suspended, frozen) */
  get readOnly(): boolean {
    return !!this.state.o.readOnly;
  }

  /** 8-byte write verifier (RFC 1813 3.3.7): the core replaces it when uncommitted data may be lost. */
  get writeVerifier(): Buffer {
    return this.state.writeVerifier;
  }

  close(opts?: { discard?: boolean }): void {
    this.state.close(opts);
  }

  /** fn of a directory the caller may add `name` to and its listing: without an await when both are in memory
   *  (a CREATE's or MKDIR's usual case); a thrown error is the promise's. */
  private inDir<T>(dirFh: Buffer, name: string, cred: Cred, fn: (d: Inode, dir: Directory) => Promise<T>): Promise<T> {
    const run = (d: Inode, dir: Directory): Promise<T> => {
      this.mustWriteDir(d, cred);
      return fn(d, dir);
    };
    try {
      checkName(name);
      const d = this.loadedDir(dirFh);
      if (d) return run(d, d.dir!);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.dirOf(dirFh).then(({ d, dir }) => run(d, dir));
  }

  private mustWriteDir(d: Inode, cred: Cred): void {
    this.state.writable();
    if ((permBits(d, cred) & 3) !== 3) throw new FsError(NfsStatus.ACCES);
  }

  /** Owner and mode of a new object in d: sattr3 uid/gid by SETATTR's rules, setgid directories (access.ts). */
  private newAttrs(d: Inode, type: FileType, set: SetAttrs, mode: number, cred: Cred): NewAttrs {
    return newOwner(d, type, set, mode, cred);
  }

  /** Removing the name `name` of d: the sticky bit's rule (access.ts), when the name exists. */
  private mayDelete(d: Inode, dir: Directory, name: string, cred: Cred): void {
    const slot = dir.get(name);
    if (slot) checkDelete(d, this.state.child(slot), cred);
  }

  private made(r: { n: Inode; before: WccAttr }, d: Inode, dirFh: Buffer): CreateResult {
    return { fh: this.handleOf(r.n.ino), attrs: r.n.attrs(this.fsid), dir: this.wcc(r.before, d, dirFh) };
  }

  // ---------------------------------------------------------------- procedures

  async tryGetattr(fh: Buffer): Promise<Attrs | null> {
    try {
      return this.attrsVia(fh, await this.inode(fh));
    } catch {
      return null;
    }
  }

  getattr(fh: Buffer): Promise<Attrs> {
    let n: Inode | null;
    try {
      n = this.inodeSync(fh);
    } catch (e) {
      return Promise.reject(e);
    }
    if (n) return Promise.resolve(this.attrsVia(fh, n));
    return this.loadInode(fh).then((x) => this.attrsVia(fh, x));
  }

  setattr(fh: Buffer, set: SetAttrs, guard: NfsTime | null, cred: Cred): Promise<Wcc> {
    let n: Inode | null;
    try {
      n = this.inodeSync(fh);
    } catch (e) {
      return Promise.reject(e);
    }
    if (n) return this.setattrOf(fh, n, set, guard, cred);
    return this.loadInode(fh).then((x) => this.setattrOf(fh, x, set, guard, cred));
  }

  /** SETATTR of an inode. Without a size (an untar's chmod, chown and utimes: two thirds of its calls) the change
   *  is made at once and the reply waits only for the journal (SessionState.changeNow); a size goes through
   *  copy-up and the data file (edits.setAttributes). */
  private setattrOf(fh: Buffer, n: Inode, set: SetAttrs, guard: NfsTime | null, cred: Cred): Promise<Wcc> {
    if (set.size === undefined) {
      return this.state.changeNow(
        () => edit.setAttributesNow(this.state, n, setattrAllowed(n, set, guard, cred)),
        (before) => this.wcc(before, n, fh),
      );
    }
    return this.state.mutate(async () => this.wcc(await edit.setAttributes(this.state, n, setattrAllowed(n, set, guard, cred)), n, fh));
  }

  lookup(dirFh: Buffer, name: string, cred: Cred): Promise<{ node: { fh: Buffer; attrs: Attrs }; dir: Attrs }> {
    try {
      checkLookupName(name);
      const d = this.loadedDir(dirFh);
      if (d) return Promise.resolve(this.lookupIn(d, d.dir!, name, cred, dirFh));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.dirOf(dirFh).then(({ d, dir }) => this.lookupIn(d, dir, name, cred, dirFh));
  }

  private lookupIn(d: Inode, dir: Directory, name: string, cred: Cred, dirFh: Buffer): { node: { fh: Buffer; attrs: Attrs }; dir: Attrs } {
    if (!(permBits(d, cred) & 1)) throw new FsError(NfsStatus.ACCES);
    let n: Inode;
    if (name === '.') n = d;
    else if (name === '..') n = this.state.parentOf(d);
    else {
      const s = dir.get(name);
      if (!s) throw new FsError(NfsStatus.NOENT);
      n = this.state.child(s);
    }
    return { node: { fh: this.handleOf(n.ino), attrs: n.attrs(this.fsid) }, dir: this.attrsVia(dirFh, d) };
  }

  async access(fh: Buffer, mask: number, cred: Cred): Promise<{ access: number; attrs: Attrs }> {
    const n = await this.inode(fh);
    let ok = accessMask(n, cred, mask);
    if (this.state.readOnly) ok &= ~(ACCESS.MODIFY | ACCESS.EXTEND | ACCESS.DELETE);
    return { access: ok, attrs: this.attrsVia(fh, n) };
  }

  async readlink(fh: Buffer): Promise<{ target: string; attrs: Attrs }> {
    const n = await this.inode(fh);
    if (n.type !== FileType.LNK) throw new FsError(NfsStatus.INVAL);
    return { target: n.target ?? '', attrs: this.attrsVia(fh, n) };
  }

  create(dirFh: Buffer, name: string, how: CreateHow, cred: Cred): Promise<CreateResult> {
    return this.inDir(dirFh, name, cred, (d, dir) => {
      const s = dir.get(name);
      if (s) return this.createExisting(dirFh, d, this.state.child(s), how, cred);
      const attrs = how.kind === 'exclusive' ? {} : how.attrs;
      const a = () => ({
        ...this.newAttrs(d, FileType.REG, attrs, 0o644, cred),
        ...(how.kind === 'exclusive' ? { verf: how.verf.toString('hex') } : {}),
      });
      // without a size (an untar's files): made at once, the reply waits only for the journal
      if (!attrs.size)
        return this.state.changeNow(
          () => edit.createFileNow(this.state, d, dir, name, a()),
          (r) => this.made(r, d, dirFh),
        );
      return this.state.mutate(async () =>
        this.made(await edit.createFile(this.state, d, dir, name, { ...a(), size: attrs.size }), d, dirFh),
      );
    });
  }

  /** CREATE of a name that exists (RFC 1813 3.3.8): GUARDED fails, EXCLUSIVE is a retransmission or fails,
   *  UNCHECKED of a regular file sets its size when asked. */
  private async createExisting(dirFh: Buffer, d: Inode, n: Inode, how: CreateHow, cred: Cred): Promise<CreateResult> {
    const before = d.wcc();
    if (how.kind === 'guarded') throw new FsError(NfsStatus.EXIST);
    if (how.kind === 'exclusive') {
      // RFC 1813 3.3.8: a retransmitted exclusive create finds its own verifier
      if (n.type === FileType.REG && n.verf === how.verf.toString('hex')) {
        return { fh: this.handleOf(n.ino), attrs: n.attrs(this.fsid), dir: this.wcc(before, d, dirFh) };
      }
      throw new FsError(NfsStatus.EXIST);
    }
    if (n.type !== FileType.REG) throw new FsError(NfsStatus.EXIST);
    if (how.attrs.size !== undefined) await this.setattr(this.handleOf(n.ino), { size: how.attrs.size }, null, cred);
    return { fh: this.handleOf(n.ino), attrs: n.attrs(this.fsid), dir: this.wcc(before, d, dirFh) };
  }

  mkdir(dirFh: Buffer, name: string, set: SetAttrs, cred: Cred): Promise<CreateResult> {
    return this.inDir(dirFh, name, cred, (d, dir) =>
      this.state.changeNow(
        () => edit.makeDirNow(this.state, d, dir, name, this.newAttrs(d, FileType.DIR, set, 0o755, cred)),
        (r) => this.made(r, d, dirFh),
      ),
    );
  }

  symlink(dirFh: Buffer, name: string, target: string, set: SetAttrs, cred: Cred): Promise<CreateResult> {
    if (target.length === 0) return Promise.reject(new FsError(NfsStatus.INVAL));
    return this.inDir(dirFh, name, cred, (d, dir) =>
      this.state.mutate(async () => {
        const a = this.newAttrs(d, FileType.LNK, { ...set, mode: 0o777 }, 0o777, cred);
        return this.made(await edit.makeSymlink(this.state, d, dir, name, target, a), d, dirFh);
      }),
    );
  }

  mknod(dirFh: Buffer, name: string, type: FileType, set: SetAttrs, rdev: [number, number], cred: Cred): Promise<CreateResult> {
    const device = type === FileType.CHR || type === FileType.BLK;
    if (!device && type !== FileType.FIFO && type !== FileType.SOCK) return Promise.reject(new FsError(NfsStatus.BADTYPE));
    return this.inDir(dirFh, name, cred, (d, dir) => {
      if (dir.get(name)) throw new FsError(NfsStatus.EXIST);
      // device nodes need CAP_MKNOD on Linux: root only
      if (device && cred.uid !== 0) throw new FsError(NfsStatus.PERM, 'only root may make device nodes');
      const a = this.newAttrs(d, type, set, 0o644, cred);
      return this.state.mutate(async () => this.made(await edit.makeNode(this.state, d, dir, name, type, a, rdev), d, dirFh));
    });
  }

  /** REMOVE: made at once, the reply waits only for the journal (SessionState.changeNow), without an await
   *  before it when the directory's listing is in memory (an `rm -rf`'s usual case). */
  remove(dirFh: Buffer, name: string, cred: Cred): Promise<Wcc> {
    try {
      checkName(name, NfsStatus.ISDIR);
      const d = this.loadedDir(dirFh);
      if (d) return this.removeIn(dirFh, d, d.dir!, name, cred);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.dirOf(dirFh).then(({ d, dir }) => this.removeIn(dirFh, d, dir, name, cred));
  }

  private removeIn(dirFh: Buffer, d: Inode, dir: Directory, name: string, cred: Cred): Promise<Wcc> {
    this.mustWriteDir(d, cred);
    return this.state.changeNow(
      () => {
        this.mayDelete(d, dir, name, cred);
        return edit.unlinkNow(this.state, d, dir, name);
      },
      (before) => this.wcc(before, d, dirFh),
    );
  }

  async rmdir(dirFh: Buffer, name: string, cred: Cred): Promise<Wcc> {
    checkName(name, name === '..' ? NfsStatus.NOTEMPTY : NfsStatus.INVAL);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    return await this.state.mutate(async () => {
      this.mayDelete(d, dir, name, cred);
      return this.wcc(await edit.removeDir(this.state, d, dir, name), d, dirFh);
    });
  }

  async rename(fromFh: Buffer, fromName: string, toFh: Buffer, toName: string, cred: Cred): Promise<{ from: Wcc; to: Wcc }> {
    checkName(fromName, NfsStatus.INVAL);
    checkName(toName, NfsStatus.INVAL);
    const { d: fd, dir: fdir } = await this.dirOf(fromFh);
    const { d: td, dir: tdir } = await this.dirOf(toFh);
    await edit.prepareRename(this.state, tdir, toName);
    this.mustWriteDir(fd, cred);
    this.mustWriteDir(td, cred);
    return await this.state.mutate(async () => {
      const slot = fdir.get(fromName);
      // renaming a file onto itself (or onto another of its names) does nothing, so checks nothing (Linux)
      if (slot && tdir.get(toName)?.ino !== slot.ino) {
        const n = this.state.child(slot);
        checkDelete(fd, n, cred);
        this.mayDelete(td, tdir, toName, cred);
        // a directory moving to another parent rewrites its '..': write permission on it (Linux's may_rename)
        if (n.type === FileType.DIR && fd !== td && !(permBits(n, cred) & 2)) throw new FsError(NfsStatus.ACCES);
      }
      const r = await edit.rename(this.state, fd, fdir, fromName, td, tdir, toName);
      return { from: this.wcc(r.from, fd, fromFh), to: this.wcc(r.to, td, toFh) };
    });
  }

  async link(fh: Buffer, dirFh: Buffer, name: string, cred: Cred): Promise<{ attrs: Attrs; dir: Wcc }> {
    checkName(name);
    const n = await this.inode(fh);
    const { d, dir } = await this.dirOf(dirFh);
    this.mustWriteDir(d, cred);
    return await this.state.mutate(async () => {
      const before = await edit.link(this.state, n, d, dir, name);
      return { attrs: this.attrsVia(fh, n), dir: this.wcc(before, d, dirFh) };
    });
  }

  async readdir(dirFh: Buffer, cookie: bigint, verf: Buffer, cred: Cred): Promise<DirListing> {
    const { d, dir } = await this.dirOf(dirFh);
    if (!(permBits(d, cred) & 4)) throw new FsError(NfsStatus.ACCES);
    const ours = this.cookieVerf;
    // a listing's continuation with a verifier of an epoch before a rebase: its cookies mean nothing now.
    // Before the first rebase the verifier is zero and is not checked (as before rebases kept the fsid)
    const e = this.o.epochs;
    if (cookie !== 0n && e && e.epoch !== e.from && !verf.equals(ours)) throw new FsError(NfsStatus.BAD_COOKIE);
    const listing = dirListing(this, d, dir, cookie);
    listing.verf = ours;
    listing.dir = this.attrsVia(dirFh, d);
    return listing;
  }

  async fsstat(fh: Buffer): Promise<FsStat> {
    const n = await this.inode(fh);
    return fsStatOf(this.state.o.dir, this.attrsVia(fh, n), this.readOnly);
  }
}
