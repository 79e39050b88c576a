// The handles of a session's NFS adapter (SessionFs extends it): minting them (handle-epochs.ts says which
// layout), and from a call's handle the object it names now (RFC 1813 2.3.3: else STALE) and the attributes the
// client holding that handle knows it by. A rebase may renumber an object the session holds; its old handle
// still names it, with its old fileid (docs/architecture.md, "Handles across a rebase").
import type { Logger } from 'pino';
import { FileType, FsError, NfsStatus, type Attrs } from './file-system.js';
import type { Inode } from '../core/inode.js';
import type { Directory } from '../core/directory.js';
import { ROOT_INO, type SessionState } from '../core/session-state.js';
import type { HandleCodec } from './handles.js';
import { handleEpoch, handleIno, mintHandle, type HandleEpochs } from './handle-epochs.js';

export interface SessionFsOptions {
  fsid: bigint;
  handles: HandleCodec;
  /** absent: v1 handles only, all of them current (snapshots, tests) */
  epochs?: HandleEpochs;
  log: Logger;
  /** How long a READ of a base file waits for the store before answering JUKEBOX (default 1500 ms). */
  readWaitMs?: number;
}

export class SessionHandles {
  readonly fsid: bigint;

  constructor(
    readonly state: SessionState,
    protected readonly o: SessionFsOptions,
  ) {
    this.fsid = o.fsid;
  }

  rootHandle(): Buffer {
    return mintHandle(this.o.handles, this.fsid, this.o.epochs, ROOT_INO);
  }

  handleOf(ino: number): Buffer {
    const n = this.state.get(ino);
    if (!n) return mintHandle(this.o.handles, this.fsid, this.o.epochs, ino);
    return (n.fh ??= this.mintNew(ino));
  }

  /**
   * The handle of an inode that has none yet: the spare when it was minted ahead for this number and layout,
   * else minted now. Minting the newest inode's handle (a CREATE's, MKDIR's, SYMLINK's, MKNOD's reply) mints
   * the next number's ahead, once per turn of the loop after the replies of this one are written: its HMAC
   * (~5 µs of a CREATE's ~20 in process) then runs while the client handles the reply, not before it. A handle
   * is a function of (fsid, number, epoch word) under the codec's key (handles.ts): the spare is that
   * function's value kept for one argument, used only for the same arguments, the same bytes a mint now makes.
   */
  private mintNew(ino: number): Buffer {
    const epoch = handleEpoch(this.o.epochs, ino);
    let fh: Buffer;
    if (this.spare !== undefined && this.spareIno === ino && this.spareEpoch === epoch) {
      fh = this.spare;
      this.spare = undefined;
    } else fh = this.o.handles.encode(this.fsid, ino, epoch);
    if (ino + 1 === this.state.nextIno && !this.minting) {
      this.minting = true;
      setImmediate(this.mintAhead);
    }
    return fh;
  }

  /** the handle minted ahead for number spareIno with epoch word spareEpoch (handleEpoch), not yet handed out */
  private spare: Buffer | undefined = undefined;
  private spareIno = -1;
  private spareEpoch: number | undefined = undefined;
  /** a mintAhead is queued */
  private minting = false;
  private readonly mintAhead = (): void => {
    this.minting = false;
    const ino = this.state.nextIno;
    const epoch = handleEpoch(this.o.epochs, ino);
    if (this.spare !== undefined && this.spareIno === ino && this.spareEpoch === epoch) return;
    this.spare = this.o.handles.encode(this.fsid, ino, epoch); // remembered by the codec: known good
    this.spareIno = ino;
    this.spareEpoch = epoch;
  };

  /** The number of the object a handle names now: its own, or the one a rebase renumbered the object to. */
  protected inoOf(fh: Buffer): number {
    const h = this.o.handles.decode(fh);
    if (h.fsid !== this.fsid) throw new FsError(NfsStatus.STALE, 'handle of another export');
    // an object an older epoch made that did not survive the rebase; its number may name another file now,
    // so it is never looked up by it (RFC 1813 2.3.3: STALE)
    const ino = handleIno(this.o.epochs, h);
    if (ino === null) throw new FsError(NfsStatus.STALE, 'handle of an object made before the last rebase');
    return ino;
  }

  /** An object's attributes as the client holding `fh` knows it: a handle a rebase renumbered keeps its fileid
   *  (the Linux client takes a fileid that changes under a handle for another file: ESTALE). */
  protected attrsVia(fh: Buffer, n: Inode): Attrs {
    const a = n.attrs(this.fsid);
    if (this.o.epochs?.renumbered === undefined) return a; // every handle names its own number
    const ino = this.o.handles.decode(fh).ino;
    return ino === n.ino ? a : a.withFileid(ino);
  }

  protected inodeSync(fh: Buffer): Inode | null {
    return this.state.get(this.inoOf(fh)) ?? null;
  }

  /** The inode of a handle: itself when it is in memory (no promise made: most calls of a busy client; an
   *  `await` of it still yields once), else a promise of it loaded. */
  protected inode(fh: Buffer): Inode | Promise<Inode> {
    return this.inodeSync(fh) ?? this.loadInode(fh);
  }

  protected async loadInode(fh: Buffer): Promise<Inode> {
    const again = await this.state.find(this.inoOf(fh));
    if (!again) throw new FsError(NfsStatus.STALE);
    return again;
  }

  protected async dirOf(fh: Buffer): Promise<{ d: Inode; dir: Directory }> {
    const d = await this.inode(fh);
    if (d.type !== FileType.DIR) throw new FsError(NfsStatus.NOTDIR);
    return { d, dir: await this.state.listing(d) };
  }

  /** The directory and its listing when both are in memory (LOOKUP's usual case: no await), else null. */
  protected loadedDir(fh: Buffer): Inode | null {
    const d = this.inodeSync(fh);
    return d && d.type === FileType.DIR && d.dir ? d : null;
  }
}
