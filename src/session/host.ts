// Who holds a session's filesystem open. In the daemon that is its export table (SessionExports), so
// files applied through the API are what the mount shows and a closed session's clients get STALE.
// Without a daemon the CLI opens the filesystem itself (DirectHost), under a lock file, because two
// processes must never replay and append one session's journal.
import { renameSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../util/pino-lazy.js';
import type { Logger } from 'pino';
import type { SessionState } from '../core/session-state.js';
import { acquireFileLock, releaseFileLock } from '../store/file-lock.js';
import type { Catalog } from './catalog.js';
import type { SessionRecord } from './record.js';
import { InvalidStateError } from './errors.js';
import { nodeId, Ownership, type OpenMode } from './ownership.js';
import { LeaseTable } from './lease.js';
import { openSessionState } from './fs-base.js';
import { stopLineCounts } from './line-counts.js';

export interface SessionHost {
  /** The session's open filesystem (opened on first use, claiming it as far as mode allows: ownership.ts). */
  open(r: SessionRecord, mode?: OpenMode): Promise<SessionState>;
  /** Stop serving it: durable state is flushed (unless `discard`: its directory is deleted next);
   *  clients of an export get STALE (with `reopening`: JUKEBOX until it is opened again, as after a rebase). */
  close(id: string, opts?: { discard?: boolean; reopening?: boolean }): void;
  /** Its filesystem if open here (never opens). */
  served(id: string): SessionState | undefined;
  /** Which data dir holds which session. */
  readonly owners: Ownership;
}

export function sessionDir(dataDir: string, id: string): string {
  return path.join(dataDir, 'sessions', id);
}

/** Where the local directories of ended sessions wait for their removal (discardSessionDir). */
export function trashDir(dataDir: string): string {
  return path.join(dataDir, 'trash');
}

/**
 * Removes an ended session's local directory (closed first by the caller): renamed out of sessions/ into the
 * trash (one rename), then removed behind the caller, so that a landing's answer does not wait for a
 * recursive removal (5-10 ms). What a crash leaves in the trash is removed at the next start (sweepTrash).
 * Where the rename cannot be done (another file system), the directory is removed in place, as before.
 */
export async function discardSessionDir(dataDir: string, id: string): Promise<void> {
  const dir = sessionDir(dataDir, id);
  const to = path.join(trashDir(dataDir), `${id}-${randomBytes(4).toString('hex')}`);
  for (let attempt = 1; ; attempt++) {
    try {
      // synchronous: one metadata call of microseconds, where the thread pool's queue (the outbox's fsyncs)
      // held the same rename 4-5 ms on a loaded machine
      renameSync(dir, to);
      break;
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      if (missing && !(await stat(dir).catch(() => null))) return; // nothing to remove
      // no trash yet (the first discard here, or swept meanwhile): made, and the rename tried again
      if (missing && attempt === 1 && (await makeTrash(dataDir))) continue;
      await rm(dir, { recursive: true, force: true });
      return;
    }
  }
  void rm(to, { recursive: true, force: true }).catch(() => {}); // left: swept at the next start
}

const makeTrash = (dataDir: string): Promise<boolean> =>
  mkdir(trashDir(dataDir), { recursive: true }).then(
    () => true,
    () => false,
  );

/** Removes what the trash holds (discardSessionDir's leftovers from a crash), behind the caller. */
export function sweepTrash(dataDir: string): Promise<void> {
  return rm(trashDir(dataDir), { recursive: true, force: true }).catch(() => {});
}

export class DirectHost implements SessionHost {
  private readonly open_ = new Map<string, { fs: SessionState; lock: string; token: string }>();
  private readonly opening = new Map<string, Promise<SessionState>>();
  private readonly givenLog: Logger | undefined;
  /** the given logger, else a silent one made when first needed (the CLI's `session list` never needs it) */
  private get log(): Logger {
    return this.givenLog ?? silentLogger();
  }

  /** refuse: why opening is not allowed (a daemon serves the data dir without an API). */
  // _secret: kept for callers; the CLI opens the state only, no NFS handles
  constructor(
    private readonly catalog: Catalog,
    private readonly dataDir: string,
    _secret: Buffer,
    opts: { log?: Logger; refuse?: string } = {},
  ) {
    this.givenLog = opts.log;
    this.refuse = opts.refuse;
    // the CLI does not stay to renew a lease: what it holds stays held (by this data dir) until a daemon on
    // this data dir takes it up, or it is handed off
    this.owners = new Ownership(catalog, nodeId(dataDir), new LeaseTable(Infinity));
  }

  private readonly refuse: string | undefined;
  readonly owners: Ownership;

  served(id: string): SessionState | undefined {
    return this.open_.get(id)?.fs;
  }

  open(r: SessionRecord, mode: OpenMode = 'use'): Promise<SessionState> {
    const have = this.open_.get(r.session_id);
    if (have) return Promise.resolve(have.fs);
    if (this.refuse) return Promise.reject(new InvalidStateError(this.refuse));
    let p = this.opening.get(r.session_id);
    if (!p) {
      p = (async () => {
        const dir = sessionDir(this.dataDir, r.session_id);
        const lock = `${dir}.lock`;
        await mkdir(path.dirname(dir), { recursive: true });
        const token = await acquireFileLock(lock, { staleMs: 24 * 3600_000, timeoutMs: 10_000 });
        try {
          const claimed = await this.owners.claim(r, mode);
          const fs = await openSessionState(r, { catalog: this.catalog, dir, writeVerifier: randomBytes(8), log: this.log, claimed });
          this.open_.set(r.session_id, { fs, lock, token });
          return fs;
        } catch (e) {
          await releaseFileLock(lock, token);
          throw e;
        }
      })().finally(() => this.opening.delete(r.session_id));
      this.opening.set(r.session_id, p);
    }
    return p;
  }

  close(id: string, opts?: { discard?: boolean; reopening?: boolean }): void {
    const e = this.open_.get(id);
    if (!e) return;
    this.open_.delete(id);
    e.fs.close(opts);
    void releaseFileLock(e.lock, e.token);
  }

  async closeAll(): Promise<void> {
    this.owners.stopRetries();
    await stopLineCounts(this.catalog.backend);
    for (const [id, e] of [...this.open_]) {
      this.open_.delete(id);
      e.fs.close();
      await releaseFileLock(e.lock, e.token);
    }
  }
}
