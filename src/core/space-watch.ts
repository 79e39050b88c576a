// Whether a session's data directory has room for changes: once a write found the disk full (ENOSPC,
// EDQUOT), changes get NOSPC until a look at the free space (at most once a second) finds room again.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { FsError, NfsStatus } from './attrs.js';

/** Below this much free space in the data directory the session takes no changes (NOSPC). */
const MIN_FREE_BYTES = 1024 * 1024;
const SPACE_RECHECK_MS = 1000;

export class SpaceWatch {
  /** the disk was full at the last look */
  private noSpaceSince: number | null = null;
  private checkedAt = 0;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Looks at the free space now (at open). */
  checkNow(): void {
    if (this.hasSpace()) return;
    this.noSpaceSince = Date.now();
    this.log.warn({ dir: this.dir }, 'no space left in the data directory: the session is read-only until there is');
  }

  /** A write found the disk full. */
  full(): void {
    this.noSpaceSince ??= Date.now();
    this.checkedAt = Date.now();
  }

  /** Throws NOSPC while the disk is (still) full. */
  check(): void {
    if (this.noSpaceSince === null) return;
    const t = Date.now();
    if (t - this.checkedAt < SPACE_RECHECK_MS) throw new FsError(NfsStatus.NOSPC);
    this.checkedAt = t;
    if (!this.hasSpace()) throw new FsError(NfsStatus.NOSPC);
    this.log.info({ dir: this.dir }, 'space in the data directory again: the session takes changes');
    this.noSpaceSince = null;
  }

  private hasSpace(): boolean {
    try {
      const st = fs.statfsSync(this.dir);
      return st.bavail * st.bsize >= MIN_FREE_BYTES;
    } catch {
      return true;
    }
  }
}
