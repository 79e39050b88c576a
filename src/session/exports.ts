// The daemon's export table: one export per live session, /exports/sessions/<id>.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { FileType, FsError, MountError, NfsStatus, type ExportTable, type FileSystem } from '../fs/types.js';
import type { HandleCodec } from '../fs/handles.js';
import { SessionFs } from '../fs/session-fs.js';
import type { SessionState } from '../core/session-state.js';
import type { AllowList } from '../daemon/allow.js';
import type { Catalog } from './catalog.js';
import { EXPORT_PREFIX, exportPath, fsidOf, isLive, type SessionRecord } from './record.js';
import { ApiError } from './errors.js';
import { nodeId, Ownership, type OpenMode } from './ownership.js';
import { openSessionState } from './fs-base.js';

const ROOT = { uid: 0, gid: 0, gids: [] };

export interface SessionExportsOptions {
  catalog: Catalog;
  dataDir: string;
  handles: HandleCodec;
  writeVerifier: Buffer;
  allow: AllowList;
  log: Logger;
  /** how long a READ of a base file waits for the store before answering JUKEBOX (ms; default 1500) */
  readWaitMs?: number;
}

export class SessionExports implements ExportTable {
  private readonly byFsid = new Map<bigint, { id: string; fs: SessionFs }>(); // fs.state: the session's state
  /** session id -> the fsid it is served under (changes when a rebase bumps the epoch) */
  private readonly fsidById = new Map<string, bigint>();
  private readonly opening = new Map<string, Promise<SessionFs>>();
  private readonly mountList: { host: string; path: string }[] = [];

  readonly owners: Ownership;

  constructor(private readonly o: SessionExportsOptions) {
    this.owners = new Ownership(o.catalog, nodeId(o.dataDir));
    this.unwatch = o.catalog.events.watchFiles(this); // file changes through NFS or the API, as session events
  }

  private readonly unwatch: () => void;

  private dirOf(id: string): string { return path.join(this.o.dataDir, 'sessions', id); }

  /** Open every live session this data dir holds, so that handles held by clients work right after a restart. */
  async preload(): Promise<void> {
    for (const id of await this.o.catalog.ids()) {
      const r = await this.o.catalog.get(id);
      if (!r || !isLive(r)) continue;
      // a session with local state here and no holder ref yet predates holder refs: it is ours
      const mode: OpenMode = existsSync(this.dirOf(id)) ? 'use' : 'mine';
      await this.open(r, mode).catch((e) => {
        if (!(e instanceof ApiError)) throw e;
      });
    }
  }

  /** The session's state, opened (and exported) on first use. */
  async open(r: SessionRecord, mode: OpenMode = 'use'): Promise<SessionState> {
    return (await this.openExport(r, mode)).state;
  }

  private openExport(r: SessionRecord, mode: OpenMode): Promise<SessionFs> {
    const fsid = fsidOf(r.session_id, r.epoch ?? 0);
    const open = this.byFsid.get(fsid);
    if (open) return Promise.resolve(open.fs);
    let p = this.opening.get(r.session_id);
    if (!p) {
      const log = this.o.log.child({ session: r.session_id });
      p = this.owners.claim(r, mode).then((claimed) => openSessionState(r, {
        catalog: this.o.catalog,
        dir: this.dirOf(r.session_id),
        writeVerifier: this.o.writeVerifier,
        log,
        claimed,
      })).then((state) => {
        const fs = new SessionFs(state, { fsid, handles: this.o.handles, readWaitMs: this.o.readWaitMs, log });
        this.byFsid.set(fsid, { id: r.session_id, fs });
        this.fsidById.set(r.session_id, fsid);
        return fs;
      }).finally(() => this.opening.delete(r.session_id));
      this.opening.set(r.session_id, p);
    }
    return p;
  }

  /** Ids of the sessions this daemon serves. */
  servedIds(): string[] { return [...this.fsidById.keys()]; }

  /** The open filesystem of a session, if this daemon serves it. */
  served(id: string): SessionState | undefined {
    const fsid = this.fsidById.get(id);
    return fsid === undefined ? undefined : this.byFsid.get(fsid)?.fs.state;
  }

  /** Stop serving a session: its clients get STALE from now on. */
  close(id: string): void {
    const fsid = this.fsidById.get(id);
    if (fsid === undefined) return;
    this.fsidById.delete(id);
    const e = this.byFsid.get(fsid);
    if (!e) return;
    this.byFsid.delete(fsid);
    e.fs.close();
  }

  closeAll(): void {
    this.unwatch();
    for (const { id } of [...this.byFsid.values()]) this.close(id);
  }

  async mount(p: string, clientAddress: string): Promise<Buffer> {
    if (!this.o.allow.allows(clientAddress)) throw new MountError(MountError.ACCES, `client ${clientAddress} not allowed`);
    const clean = p.replace(/\/+$/, '');
    if (!clean.startsWith(EXPORT_PREFIX)) throw new MountError(MountError.NOENT, `no export ${p}`);
    const [id, ...sub] = clean.slice(EXPORT_PREFIX.length).split('/');
    const r = await this.o.catalog.get(id);
    if (!r || !isLive(r)) throw new MountError(MountError.NOENT, `no live session ${id}`);
    let fs: SessionFs;
    try {
      fs = await this.openExport(r, 'take'); // mounting a handed-off session serves it here
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      this.o.log.warn({ session: id, client: clientAddress, err: e.message }, 'mount refused');
      throw new MountError(MountError.ACCES, e.message);
    }
    // a directory inside the export may be mounted too, as knfsd allows
    let fh = fs.rootHandle();
    for (const name of sub.filter(Boolean)) {
      try {
        const found = await fs.lookup(fh, name, ROOT);
        if (found.node.attrs.type !== FileType.DIR) throw new MountError(MountError.NOTDIR, `${p}: not a directory`);
        fh = found.node.fh;
      } catch (e) {
        if (e instanceof MountError) throw e;
        throw new MountError(MountError.NOENT, `${p}: ${(e as Error).message}`);
      }
    }
    if (!this.mountList.some((m) => m.host === clientAddress && m.path === clean)) this.mountList.push({ host: clientAddress, path: clean });
    this.o.log.info({ session: id, path: clean, client: clientAddress }, 'mounted');
    return fh;
  }

  unmount(p: string, clientAddress: string): void {
    const clean = p.replace(/\/+$/, '');
    const i = this.mountList.findIndex((m) => m.host === clientAddress && m.path === clean);
    if (i >= 0) this.mountList.splice(i, 1);
  }

  unmountAll(clientAddress: string): void {
    for (let i = this.mountList.length - 1; i >= 0; i--) if (this.mountList[i].host === clientAddress) this.mountList.splice(i, 1);
  }

  mounts(): { host: string; path: string }[] { return this.mountList.slice(); }

  async exports(): Promise<{ path: string; groups: string[] }[]> {
    const out: { path: string; groups: string[] }[] = [];
    for (const r of await this.o.catalog.list()) if (isLive(r)) out.push({ path: exportPath(r.session_id), groups: this.o.allow.specs });
    return out;
  }

  resolve(fh: Buffer): FileSystem {
    const h = this.o.handles.decode(fh);
    const e = this.byFsid.get(h.fsid);
    if (!e) throw new FsError(NfsStatus.STALE, 'no such export');
    return e.fs;
  }
}
