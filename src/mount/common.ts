// Shared pieces of the MOUNT version 3 procedures (RFC 1813 section 5).
import type { Logger } from 'pino';
import type { ExportTable } from '../fs/file-system.js';

export { MountStat } from '../fs/file-system.js';

export const MOUNT_PROGRAM = 100005;
export const MOUNT_V3 = 3;

/** MNTPATHLEN and MNTNAMLEN (5.1.1). */
export const MNTPATHLEN = 1024;
export const MNTNAMLEN = 255;

export interface MountDeps {
  exports: ExportTable;
  log: Logger;
}
