// The daemon's export table: one export per live session, /exports/sessions/<id>.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { FileType, FsError, MountError, MountStat, NfsStatus, ROOT_CRED, type ExportTable, type Resolved } from '../fs/file-system.js';
import type { HandleCodec } from '../fs/handles.js';
import { SessionFs } from '../fs/session-fs.js';
import { renumberedOf } from '../fs/handle-epochs.js';
import type { SessionState } from '../core/session-state.js';
import type { Catalog } from './catalog.js';
import { EXPORT_PREFIX, exportPath, fsidFrom, fsidOf, isLive, type SessionRecord } from './record.js';
import { DomainError, InvalidStateError } from './errors.js';
import { CorruptObjectError } from '../store/errors.js';
import { nodeId, Ownership, type OpenMode } from './ownership.js';
import { openSessionState } from './fs-base.js';
import { PROJECT_EXPORT_PREFIX, type SnapshotExports } from './snapshots.js';
import { ProjectLister } from '../store/index.js';

/** Which client addresses may mount (the daemon's AllowList of CIDR prefixes). */
export interface AddressFilter {
  readonly specs: string[];
  allows(address: string): boolean;
}

export interface SessionExportsOptions {
  catalog: Catalog;
  dataDir: string;
  handles: HandleCodec;
  writeVerifier: Buffer;
  allow: AddressFilter;
  log: Logger;
  /** how long a READ of a base file waits for the store before answering JUKEBOX (ms; default 1500) */
  readWaitMs?: number;
  /** read-only exports of heads and trees (/exports/projects/...) */
  snapshots?: SnapshotExports;
  /** a client whose last connection closed and that has not connected again for this long is taken to be
   *  gone: its mounts end with an `unmounted` event (reason gone) (ms; 0 or absent: never) */
  mountGoneMs?: number;
}

/** A client mounted or unmounted a session's export (or a directory in it). */
export interface MountNotice {
  session: string;
  action: 'mounted' | 'unmounted';
  client: string;
  /** what was mounted: the export's path, or a directory in it */
  path: string;
  /** unmounted: how (UMNT, UMNTALL, or gone: the client's connections closed and it did not come back) */
  reason?: UnmountReason;
}

export type UnmountReason = 'umnt' | 'umntall' | 'gone';

/** how long a session closed to be reopened (a rebase) answers JUKEBOX at most before its handles are STALE */
const REOPEN_MS = 30_000;

export class SessionExports implements ExportTable {
  private readonly byFsid = new Map<bigint, { id: string; fs: SessionFs; uid?: number }>(); // fs.state: the session's state
  /** session id -> the fsid it is served under (changes when a rebase bumps the epoch) */
  private readonly fsidById = new Map<string, bigint>();
  private readonly opening = new Map<string, Promise<SessionFs>>();
  /** fsids of sessions closed for a moment (a rebase swapping its rebuilt state in): JUKEBOX, not STALE */
  private readonly pausedFsids = new Map<bigint, NodeJS.Timeout>();
  private readonly mountList: { host: string; path: string; session?: string }[] = [];
  /** client address -> the timer that ends its mounts (its last connection closed: peer()) */
  private readonly goneTimers = new Map<string, NodeJS.Timeout>();
  /** client addresses with a connection open (peer()) */
  private readonly peers = new Set<string>();
  /** Told when a client mounts a session it had not mounted, or unmounts one (the service records it in the
   *  session's timeline and tells the event streams); a failure is logged, the MOUNT call never waits. */
  onMount: ((m: MountNotice) => Promise<void>) | null = null;

  readonly owners: Ownership;
  /** the projects whose snapshots MOUNT EXPORT lists (no listing of every object on each call) */
  private readonly projects: ProjectLister;

  private leaseTimer: NodeJS.Timeout | null = null;
  private readonly renewing = new Map<string, Promise<boolean>>();

  /** The options, copied into one object shape whatever the caller's literal held (the daemon's and the start-up
   *  warm-up's differ): `resolve` and every call reading them compiled for one (perf-notes, branch deopt11). */
  private readonly o: SessionExportsOptions;

  constructor(opts: SessionExportsOptions) {
    // every key listed (the type fails to compile when an option is added and not copied here)
    const o = {
      catalog: opts.catalog,
      dataDir: opts.dataDir,
      handles: opts.handles,
      writeVerifier: opts.writeVerifier,
      allow: opts.allow,
      log: opts.log,
      readWaitMs: opts.readWaitMs,
      snapshots: opts.snapshots,
      mountGoneMs: opts.mountGoneMs,
    } satisfies Record<keyof SessionExportsOptions, unknown>;
    this.o = o;
    this.owners = new Ownership(o.catalog, nodeId(o.dataDir));
    this.projects = new ProjectLister(o.catalog.backend);
    this.unwatch = o.catalog.events.watchFiles(this); // file changes through NFS or the API, as session events
  }

  private readonly unwatch: () => void;

  /** Renews the leases of the sessions served here every quarter lease (lease.ts); a session another
   *  daemon has taken over is closed here (its clients get STALE). */
  startLeases(): void {
    if (this.leaseTimer) return;
    this.leaseTimer = setInterval(
      () => {
        for (const id of this.servedIds()) void this.renew(id);
      },
      Math.max(50, Math.floor(this.owners.leases.ms / 4)),
    );
    this.leaseTimer.unref();
  }

  private renew(id: string): Promise<boolean> {
    let p = this.renewing.get(id);
    if (!p) {
      p = this.owners
        .renew(id)
        .then(
          (ok) => {
            if (!ok && this.fsidById.has(id)) {
              this.o.log.warn({ session: id }, 'lease lost: another daemon has taken the session over; no longer serving it');
              this.close(id);
            }
            return ok;
          },
          (e: unknown) => {
            this.o.log.warn({ session: id, err: e }, 'lease renewal failed; retrying');
            return false;
          },
        )
        .finally(() => this.renewing.delete(id));
      this.renewing.set(id, p);
    }
    return p;
  }

  private dirOf(id: string): string {
    return path.join(this.o.dataDir, 'sessions', id);
  }

  /** Open every live session this data dir holds, so that handles held by clients work right after a restart. */
  async preload(): Promise<void> {
    for (const id of await this.o.catalog.liveIds()) {
      const r = await this.o.catalog.get(id).catch((e: unknown) => {
        if (!(e instanceof CorruptObjectError)) throw e;
        this.o.log.error({ err: e, session: id }, 'session record refused'); // must not keep the daemon from starting
        return null;
      });
      if (!r || !isLive(r)) continue;
      // a session with local state here and no holder ref yet predates holder refs: it is ours
      const mode: OpenMode = existsSync(this.dirOf(id)) ? 'use' : 'mine';
      await this.open(r, mode).catch((e) => {
        if (!(e instanceof DomainError)) throw e;
      });
    }
  }

  /** The session's state, opened (and exported) on first use. */
  async open(r: SessionRecord, mode: OpenMode = 'use'): Promise<SessionState> {
    return (await this.openExport(r, mode)).state;
  }

  private openExport(r: SessionRecord, mode: OpenMode): Promise<SessionFs> {
    const from = fsidFrom(r);
    const fsid = fsidOf(r.session_id, from.epoch);
    const open = this.byFsid.get(fsid);
    if (open && this.owners.leaseValid(r.session_id)) return Promise.resolve(open.fs);
    // fencing (lease.ts): on a lapsed lease, renew first; a session taken over is closed and claimed anew
    if (open) {
      return this.renew(r.session_id).then((ok) => {
        if (ok) return open.fs;
        if (this.byFsid.has(fsid))
          throw new InvalidStateError(`session ${r.session_id}: its lease could not be renewed (the store is unreachable?); try again`);
        return this.openExport(r, mode); // taken over: claiming it again says by whom
      });
    }
    let p = this.opening.get(r.session_id);
    if (!p) {
      const log = this.o.log.child({ session: r.session_id });
      p = this.owners
        .claim(r, mode)
        .then((claimed) =>
          openSessionState(r, {
            catalog: this.o.catalog,
            dir: this.dirOf(r.session_id),
            writeVerifier: this.o.writeVerifier,
            log,
            claimed,
          }),
        )
        .then((state) => {
          const epochs = {
            epoch: r.epoch ?? 0,
            from: from.epoch,
            fromNext: from.nextIno,
            baseNext: r.base.nextIno,
            revoked: new Set(from.revoked ?? []),
            ...(from.renumbered ? { renumbered: renumberedOf(from.renumbered) } : {}),
          };
          const fs = new SessionFs(state, { fsid, handles: this.o.handles, epochs, readWaitMs: this.o.readWaitMs, log });
          this.byFsid.set(fsid, { id: r.session_id, fs, ...(r.nfs_uid !== undefined ? { uid: r.nfs_uid } : {}) });
          this.unpause(fsid);
          this.fsidById.set(r.session_id, fsid);
          this.o.catalog.events.opened(); // its file changes are watched from now on
          return fs;
        })
        .finally(() => this.opening.delete(r.session_id));
      this.opening.set(r.session_id, p);
    }
    return p;
  }

  /** Ids of the sessions this daemon serves. */
  servedIds(): string[] {
    return [...this.fsidById.keys()];
  }

  /** The open filesystem of a session, if this daemon serves it. */
  served(id: string): SessionState | undefined {
    const fsid = this.fsidById.get(id);
    return fsid === undefined ? undefined : this.byFsid.get(fsid)?.fs.state;
  }

  /** Stop serving a session: its clients get STALE from now on, or with `reopening` JUKEBOX (RFC 1813 2.6: the
   *  client sends the call again) until it is opened again, for at most REOPEN_MS. */
  close(id: string, opts?: { discard?: boolean; reopening?: boolean }): void {
    const fsid = this.fsidById.get(id);
    if (fsid === undefined) return;
    this.fsidById.delete(id);
    if (opts?.reopening) {
      this.unpause(fsid);
      const t = setTimeout(() => this.pausedFsids.delete(fsid), REOPEN_MS);
      t.unref();
      this.pausedFsids.set(fsid, t);
    }
    const e = this.byFsid.get(fsid);
    if (!e) return;
    this.byFsid.delete(fsid);
    e.fs.close(opts);
  }

  private unpause(fsid: bigint): void {
    const t = this.pausedFsids.get(fsid);
    if (t) clearTimeout(t);
    this.pausedFsids.delete(fsid);
  }

  closeAll(): void {
    for (const t of this.pausedFsids.values()) clearTimeout(t);
    this.pausedFsids.clear();
    for (const t of this.goneTimers.values()) clearTimeout(t);
    this.goneTimers.clear();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    this.owners.stopRetries();
    this.unwatch();
    for (const { id } of [...this.byFsid.values()]) this.close(id);
    this.o.snapshots?.closeAll();
  }

  async mount(p: string, clientAddress: string): Promise<Buffer> {
    if (!this.o.allow.allows(clientAddress)) throw new MountError(MountStat.ACCES, `client ${clientAddress} not allowed`);
    const clean = p.replace(/\/+$/, '');
    let fs: SessionFs, sub: string[], id: string;
    let session: string | undefined;
    if (this.o.snapshots && clean.startsWith(PROJECT_EXPORT_PREFIX)) {
      ({ fs, sub } = await this.o.snapshots.mount(clean));
      id = clean;
      this.projects.note(clean.slice(PROJECT_EXPORT_PREFIX.length).split('/').slice(0, 2).join('/'));
    } else {
      if (!clean.startsWith(EXPORT_PREFIX)) throw new MountError(MountStat.NOENT, `no export ${p}`);
      [id, ...sub] = clean.slice(EXPORT_PREFIX.length).split('/');
      session = id;
      const r = await this.o.catalog.get(id);
      if (!r || !isLive(r)) throw new MountError(MountStat.NOENT, `no live session ${id}`);
      this.projects.note(r.project);
      try {
        fs = await this.openExport(r, 'take'); // mounting a handed-off session serves it here
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        this.o.log.warn({ session: id, client: clientAddress, err: e.message }, 'mount refused');
        throw new MountError(MountStat.ACCES, e.message);
      }
    }
    // a directory inside the export may be mounted too, as knfsd allows
    let fh = fs.rootHandle();
    for (const name of sub.filter(Boolean)) {
      try {
        const found = await fs.lookup(fh, name, ROOT_CRED);
        if (found.node.attrs.type !== FileType.DIR) throw new MountError(MountStat.NOTDIR, `${p}: not a directory`);
        fh = found.node.fh;
      } catch (e) {
        if (e instanceof MountError) throw e;
        throw new MountError(MountStat.NOENT, `${p}: ${(e as Error).message}`);
      }
    }
    if (!this.mountList.some((m) => m.host === clientAddress && m.path === clean)) {
      this.mountList.push({ host: clientAddress, path: clean, session });
      if (session) this.notify({ session, action: 'mounted', client: clientAddress, path: clean });
      // its connection closed while the MNT was answered: the clock runs from now
      if (!this.peers.has(clientAddress) && !this.goneTimers.has(clientAddress)) this.peer(clientAddress, false);
    }
    this.o.log.info({ session: id, path: clean, client: clientAddress }, 'mounted');
    return fh;
  }

  unmount(p: string, clientAddress: string): void {
    const clean = p.replace(/\/+$/, '');
    const i = this.mountList.findIndex((m) => m.host === clientAddress && m.path === clean);
    if (i >= 0) this.unlist(i, 'umnt');
  }

  unmountAll(clientAddress: string, reason: UnmountReason = 'umntall'): void {
    for (let i = this.mountList.length - 1; i >= 0; i--) if (this.mountList[i].host === clientAddress) this.unlist(i, reason);
  }

  /**
   * A client address opened its first connection (connected) or closed its last one (RpcServer onPeer).
   * NFSv3 has no session: a client that vanishes (powered off, its network gone, killed without UMNT) never
   * says so. One that has no connection for mountGoneMs is taken to be gone and its mounts end (reason gone),
   * as if it had sent UMNTALL. The grace covers the gap between MOUNT's connection and NFS's and a reconnect;
   * a client that was only idle (its kernel closes idle connections too, and so does --idle-timeout) and
   * comes back later is served as before, without a new mounted event: its handles never depended on it.
   */
  peer(address: string, connected: boolean): void {
    if (connected) this.peers.add(address);
    else this.peers.delete(address);
    const t = this.goneTimers.get(address);
    if (t) clearTimeout(t);
    this.goneTimers.delete(address);
    const ms = this.o.mountGoneMs ?? 0;
    if (connected || ms <= 0 || !this.mountList.some((m) => m.host === address)) return;
    const timer = setTimeout(() => {
      this.goneTimers.delete(address);
      this.o.log.info({ client: address, afterMs: ms }, 'client gone (no connection): its mounts end');
      this.unmountAll(address, 'gone');
    }, ms);
    timer.unref();
    this.goneTimers.set(address, timer);
  }

  private unlist(i: number, reason: UnmountReason): void {
    const [m] = this.mountList.splice(i, 1);
    if (m?.session) this.notify({ session: m.session, action: 'unmounted', client: m.host, path: m.path, reason });
  }

  private notify(m: MountNotice): void {
    this.onMount?.(m).catch((e: unknown) =>
      this.o.log.warn({ session: m.session, client: m.client, err: (e as Error).message }, `${m.action} event not recorded`),
    );
  }

  mounts(): { host: string; path: string }[] {
    return this.mountList.slice();
  }

  async exports(): Promise<{ path: string; groups: string[] }[]> {
    const out: { path: string; groups: string[] }[] = [];
    for (const r of await this.o.catalog.liveList()) out.push({ path: exportPath(r.session_id), groups: this.o.allow.specs });
    if (this.o.snapshots)
      for (const path of await this.o.snapshots.exports(await this.projects.projects())) out.push({ path, groups: this.o.allow.specs });
    return out;
  }

  resolve(raw: Buffer): Resolved {
    const { fh, info } = this.o.handles.verify(raw);
    const e = this.byFsid.get(info.fsid);
    if (!e) {
      const snap = this.o.snapshots?.resolve(info, fh);
      if (snap) return snap;
      if (this.pausedFsids.has(info.fsid)) throw new FsError(NfsStatus.JUKEBOX, 'the session is being reopened (rebase)');
      throw new FsError(NfsStatus.STALE, 'no such export');
    }
    if (!this.owners.leaseValid(e.id)) {
      // fencing (lease.ts): never serve on a lease that may have run out; the client retries once renewed
      void this.renew(e.id);
      throw new FsError(NfsStatus.JUKEBOX, "the session's lease is being renewed");
    }
    return { fs: e.fs, fh, ...(e.uid !== undefined ? { uid: e.uid } : {}) };
  }
}
