// A rebase replaces the session's local state (journal, data files) with one built on the new head, and its
// record's base and epoch with the new ones. Both change together, whatever moment a crash (SIGKILL, power
// loss) strikes at, because the new state is built beside the old one:
//   1. build it in <dir>.rebase, make its files and names durable, then write <dir>.rebase/rebase.json
//      naming the record it belongs to (the new epoch and base head);
//   2. write the record (new base, new epoch): the commit point;
//   3. swap: <dir> -> <dir>.old, <dir>.rebase -> <dir>, remove <dir>.old.
// Opening a session (fs-base.ts) first settles what a crash left (settleRebase): a side directory whose
// marker names the record just read is swapped in (the crash came after step 2); any other one is removed
// (the record is still on the old base, which <dir> still holds, untouched); a left-over <dir>.old goes.
import fs from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { syncDir, writeFileDurable } from '../core/durable.js';
import { crashPoint } from '../util/crash-point.js';
import type { SessionRecord } from './record.js';

const MARK = 'rebase.json';

interface RebaseMark {
  epoch: number;
  head: string;
}

/** Where a rebase builds the session's new state. */
export function rebaseDirOf(dir: string): string {
  return `${dir}.rebase`;
}

/** fsync every file and directory under dir (the rebuilt state's data files, written without fsync), on the
 *  thread pool: the event loop goes on answering other sessions' calls meanwhile. */
async function syncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await syncTree(p);
    else if (e.isFile()) {
      const fh = await open(p, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  syncDir(dir);
}

/** Step 1's end: the side directory (closed) is durable and names the record it belongs to. */
export async function markRebuilt(dir: string, r: SessionRecord): Promise<void> {
  const side = rebaseDirOf(dir);
  await syncTree(side);
  const mark: RebaseMark = { epoch: r.epoch ?? 0, head: r.base.head };
  writeFileDurable(path.join(side, MARK), JSON.stringify(mark));
  syncDir(path.dirname(side));
}

/** Step 3: the side directory becomes the session's. Synchronous up to the removal of the old state, so no
 *  open of the session can come in between. */
export async function swapInRebuilt(dir: string): Promise<void> {
  const side = rebaseDirOf(dir);
  const old = `${dir}.old`;
  fs.rmSync(old, { recursive: true, force: true }); // of an earlier swap cut short: out of date
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  crashPoint('rebase-swapping');
  fs.renameSync(side, dir);
  fs.rmSync(path.join(dir, MARK), { force: true });
  syncDir(path.dirname(dir));
  await rm(old, { recursive: true, force: true });
}

function readMark(side: string): RebaseMark | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(side, MARK), 'utf8')) as RebaseMark;
    return typeof m.epoch === 'number' && typeof m.head === 'string' ? m : null;
  } catch {
    return null; // no marker: the crash came before step 1 finished
  }
}

/** Before a session's state is opened: finish or undo a rebase a crash cut short (see above). */
export async function settleRebase(dir: string, r: SessionRecord, log: Logger): Promise<void> {
  const side = rebaseDirOf(dir);
  if (fs.existsSync(side)) {
    const mark = readMark(side);
    if (mark && mark.epoch === (r.epoch ?? 0) && mark.head === r.base.head) {
      await swapInRebuilt(dir);
      log.warn({ session: r.session_id, head: mark.head }, 'rebase finished after a crash: its rebuilt state is the session’s');
      return;
    }
    await rm(side, { recursive: true, force: true });
    log.warn({ session: r.session_id }, 'rebase cut short by a crash before its record was written: the session stays on its old base');
  }
  await rm(`${dir}.old`, { recursive: true, force: true });
}
