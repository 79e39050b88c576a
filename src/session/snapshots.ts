// Read-only snapshot exports (seed 001 "Snapshot: export tree hash as read-only view"): any head or tree of
// a project, mounted read-only:
//   /exports/projects/<org>/<name>/head            the head current when it is mounted
//   /exports/projects/<org>/<name>/heads/<hash>    one head of the project's history
//   /exports/projects/<org>/<name>/trees/<hash>    one tree (a timeline event's `tree`: the session after it)
// A directory inside may be mounted too (.../head/src). The NFS adapter is the sessions' (SessionFs) over
// a read-only core view (SessionState with readOnly): every modifying procedure answers NFS3ERR_ROFS
// (RFC 1813 2.6), ACCESS never grants MODIFY/EXTEND/DELETE, FSINFO does not claim FSF3_CANSETTIME.
//
// One export per (project, tree), whatever path named it: its fsid is derived from both, and file ids are
// the tree's inode numbers, so handles survive restarts. snapshots/index.json remembers which trees were
// mounted, and the daemon opens them again at boot (a handle of one not yet open gets JUKEBOX, then works).
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { FsError, MountError, MountStat, NfsStatus, type Resolved } from '../fs/file-system.js';
import type { HandleCodec, HandleInfo } from '../fs/handles.js';
import { SessionFs } from '../fs/session-fs.js';
import { SessionState } from '../core/session-state.js';
import { mkdirDurable, syncDir, writeFileDurable } from '../core/durable.js';
import { isHash, isValidProject } from '../store/index.js';
import type { Catalog } from './catalog.js';

export const PROJECT_EXPORT_PREFIX = '/exports/projects/';
/** Snapshots kept open; beyond, the least recently used idle one is closed (its handles reopen it). */
export const MAX_OPEN_SNAPSHOTS = 64;
/** Snapshots remembered in the index; beyond, the least recently mounted one's handles go STALE. */
export const MAX_KNOWN_SNAPSHOTS = 10_000;
const IDLE_MS = 30_000;

interface Known {
  project: string;
  tree: string;
  nextIno: number;
  /** the root directory's times (ms): the head's time, or when a tree was first mounted */
  time: number;
  /** when it was last mounted (ms) */
  mounted?: number;
}

export interface SnapshotExportsOptions {
  catalog: Catalog;
  dataDir: string;
  handles: HandleCodec;
  writeVerifier: Buffer;
  log: Logger;
}

/** The fsid of a project's tree exported read-only (never 0, apart from the sessions' by its prefix). */
export function snapshotFsid(project: string, tree: string): bigint {
  const v = createHash('sha256').update(`mic-fs snapshot fsid:${project}:${tree}`).digest().readBigUInt64BE(0);
  return v === 0n ? 1n : v;
}

/** A parsed snapshot export path; `sub` is the directory inside it. */
export function parseSnapshotPath(
  p: string,
): { project: string; kind: 'head' | 'heads' | 'trees'; hash: string | null; sub: string[] } | null {
  if (!p.startsWith(PROJECT_EXPORT_PREFIX)) return null;
  const [org, name, kind, ...rest] = p.slice(PROJECT_EXPORT_PREFIX.length).split('/');
  const project = `${org}/${name}`;
  if (!org || !name || !isValidProject(project)) return null;
  if (kind === 'head') return { project, kind, hash: null, sub: rest.filter(Boolean) };
  if ((kind === 'heads' || kind === 'trees') && rest[0] && isHash(rest[0]))
    return { project, kind, hash: rest[0], sub: rest.slice(1).filter(Boolean) };
  return null;
}

export class SnapshotExports {
  private readonly open = new Map<bigint, SessionFs>();
  private readonly opening = new Map<bigint, Promise<SessionFs>>();
  private readonly known = new Map<bigint, Known>();
  private readonly used = new Map<bigint, number>();
  private readonly dir: string;
  private readonly indexFile: string;

  constructor(private readonly o: SnapshotExportsOptions) {
    this.dir = path.join(o.dataDir, 'snapshots');
    this.indexFile = path.join(this.dir, 'index.json');
    if (existsSync(this.indexFile)) {
      try {
        const doc = JSON.parse(readFileSync(this.indexFile, 'utf8')) as Record<string, Known>;
        for (const [k, v] of Object.entries(doc)) this.known.set(BigInt('0x' + k), v);
      } catch (e) {
        o.log.error(
          { err: (e as Error).message, file: this.indexFile },
          'snapshot index unreadable: snapshot handles held by clients go STALE',
        );
      }
    }
  }

  /** Opens the snapshots clients most likely hold handles of (after a restart); others open on first use. */
  async preload(): Promise<void> {
    const recent = [...this.known].sort((a, b) => (b[1].mounted ?? 0) - (a[1].mounted ?? 0)).slice(0, MAX_OPEN_SNAPSHOTS);
    for (const [fsid] of recent) {
      await this.openFs(fsid).catch((e: unknown) =>
        this.o.log.warn({ err: (e as Error).message, fsid: fsid.toString(16) }, 'snapshot not reopened'),
      );
    }
  }

  /** MNT of a snapshot path: the root handle of the tree (or of a directory inside it). */
  async mount(p: string): Promise<{ fs: SessionFs; root: Buffer; sub: string[] }> {
    const at = parseSnapshotPath(p);
    if (!at) throw new MountError(MountStat.NOENT, `no export ${p} (head, heads/<hash> or trees/<hash> of a project)`);
    const store = this.o.catalog.store(at.project);
    let k: Known;
    if (at.kind === 'trees') {
      try {
        await store.listDir(at.hash!);
      } catch {
        throw new MountError(MountStat.NOENT, `project ${at.project} has no tree ${at.hash}`);
      }
      k = this.known.get(snapshotFsid(at.project, at.hash!)) ?? { project: at.project, tree: at.hash!, nextIno: 2 ** 31, time: Date.now() };
    } else {
      let rec;
      try {
        rec = at.kind === 'head' ? (await store.getHead())?.record : await store.getHeadRecord(at.hash!);
      } catch {
        rec = undefined;
      }
      if (!rec)
        throw new MountError(
          MountStat.NOENT,
          at.kind === 'head' ? `project ${at.project} has no head` : `project ${at.project} has no head ${at.hash}`,
        );
      k = { project: at.project, tree: rec.tree, nextIno: rec.nextIno, time: Date.parse(rec.time) || Date.now() };
    }
    const fsid = snapshotFsid(k.project, k.tree);
    const was = this.known.get(fsid);
    // the index is written when a snapshot is new, and at most hourly for a remount (its recency)
    if (!was || Date.now() - (was.mounted ?? 0) > 3_600_000) {
      this.known.delete(fsid);
      this.known.set(fsid, { ...(was ?? k), mounted: Date.now() }); // Map order: least recently mounted first
      for (const old of this.known.keys()) {
        if (this.known.size <= MAX_KNOWN_SNAPSHOTS) break;
        this.known.delete(old);
        this.close(old);
      }
      this.saveIndex();
    }
    const fs = await this.openFs(fsid);
    this.used.set(fsid, Date.now());
    return { fs, root: fs.rootHandle(), sub: at.sub };
  }

  private saveIndex(): void {
    mkdirDurable(this.dir);
    const doc: Record<string, Known> = {};
    for (const [fsid, k] of this.known) doc[fsid.toString(16)] = k;
    // replaced whole (a new file renamed over it): a crash leaves the old index or the new one
    const tmp = `${this.indexFile}.${process.pid}.tmp`;
    rmSync(tmp, { force: true });
    writeFileDurable(tmp, JSON.stringify(doc));
    renameSync(tmp, this.indexFile);
    syncDir(this.dir);
  }

  private openFs(fsid: bigint): Promise<SessionFs> {
    const ready = this.open.get(fsid);
    if (ready) return Promise.resolve(ready);
    let p = this.opening.get(fsid);
    if (!p) {
      const k = this.known.get(fsid)!;
      const dir = path.join(this.dir, fsid.toString(16));
      rmSync(dir, { recursive: true, force: true }); // nothing is ever written: no state to keep
      const log = this.o.log.child({ snapshot: `${k.project}@${k.tree.slice(0, 12)}` });
      p = SessionState.open({
        dir,
        source: this.o.catalog.store(k.project),
        base: { tree: k.tree, nextIno: k.nextIno, time: { sec: Math.floor(k.time / 1000), nsec: (k.time % 1000) * 1e6 } },
        owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
        writeVerifier: this.o.writeVerifier,
        log,
        readOnly: true,
      })
        .then((state) => {
          const fs = new SessionFs(state, { fsid, handles: this.o.handles, log });
          this.open.set(fsid, fs);
          this.used.set(fsid, Date.now());
          this.evictIdle();
          return fs;
        })
        .finally(() => this.opening.delete(fsid));
      this.opening.set(fsid, p);
    }
    return p;
  }

  /** Beyond MAX_OPEN_SNAPSHOTS, close the least recently used ones idle for a while. */
  private evictIdle(): void {
    if (this.open.size <= MAX_OPEN_SNAPSHOTS) return;
    const now = Date.now();
    const idle = [...this.used].filter(([, t]) => now - t > IDLE_MS).sort((a, b) => a[1] - b[1]);
    for (const [fsid] of idle.slice(0, this.open.size - MAX_OPEN_SNAPSHOTS)) this.close(fsid);
  }

  private close(fsid: bigint): void {
    this.open.get(fsid)?.close();
    this.open.delete(fsid);
    this.used.delete(fsid);
  }

  /** The snapshot a verified handle belongs to; null when it names none (the caller answers STALE). */
  resolve(info: HandleInfo, fh: Resolved['fh']): Resolved | null {
    const fs = this.open.get(info.fsid);
    if (fs) {
      this.used.set(info.fsid, Date.now());
      return { fs, fh };
    }
    if (!this.known.has(info.fsid)) return null;
    void this.openFs(info.fsid).catch((e: unknown) => this.o.log.warn({ err: (e as Error).message }, 'snapshot not reopened'));
    throw new FsError(NfsStatus.JUKEBOX, 'the snapshot is being opened');
  }

  /** MOUNT EXPORT: each project's head and the current head by hash. */
  async exports(projects: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const p of projects) {
      const h = await this.o.catalog
        .store(p)
        .getHead()
        .catch(() => null);
      if (!h) continue;
      out.push(`${PROJECT_EXPORT_PREFIX}${p}/head`, `${PROJECT_EXPORT_PREFIX}${p}/heads/${h.hash}`);
    }
    return out;
  }

  closeAll(): void {
    for (const fsid of [...this.open.keys()]) this.close(fsid);
  }
}
