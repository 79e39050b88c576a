// The tree a session's state starts from: the session's base, or, after a handoff (or when this data
// dir has no local state for it), the tree last recorded in sessions/<id>/tree.json. The local journal is
// relative to that tree, so <session dir>/start.json keeps it; the open state knows it (SessionState.start).
// Such a directory is made beside (<dir>.start) with its start.json and renamed into place, so a crash never
// leaves one without it (which would read as "starts from the base", the recorded changes gone).
// Landing still diffs and merges against r.base.
import { existsSync, renameSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { SessionState, type StartTree } from '../core/session-state.js';
import type { ObjectStore } from '../store/index.js';
import type { Catalog } from './catalog.js';
import type { Claimed } from './ownership.js';
import type { SessionRecord } from './record.js';
import { readTreeDoc } from './tree-doc.js';
import { settleRebase } from './rebase-state.js';
import { mkdirDurable, syncDir, writeFileDurable } from '../core/durable.js';
import { isCode } from '../../util/errno.js';
import { crashPoint } from '../util/crash-point.js';

async function startOf(store: ObjectStore, dir: string, r: SessionRecord, claimed: Claimed): Promise<StartTree> {
  // taking over a handed-off session: local state of an earlier stay here is out of date
  if (claimed === 'released' || claimed === 'forced') await rm(dir, { recursive: true, force: true });
  const file = path.join(dir, 'start.json');
  const fresh = `${dir}.start`;
  await rm(fresh, { recursive: true, force: true }); // made by an open a crash cut short
  if (existsSync(dir)) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as StartTree;
    } catch (e) {
      // none: the state starts from the base. One that cannot be read must not become the base silently:
      // the journal is relative to the tree it names (it is written whole before the directory appears)
      if (isCode(e, 'ENOENT')) return r.base;
      throw new Error(`session ${r.session_id}: ${file} unreadable, its state cannot be opened: ${(e as Error).message}`, { cause: e });
    }
  }
  const doc = await readTreeDoc(store, r);
  if (!doc || doc.tree === r.base.tree) return r.base;
  const start = { tree: doc.tree, nextIno: Math.max(doc.nextIno, r.base.nextIno) };
  // the directory appears with its start.json or not at all: a directory without one starts from the base
  mkdirDurable(fresh);
  writeFileDurable(path.join(fresh, 'start.json'), JSON.stringify(start)); // the journal is relative to it
  crashPoint('session-start-tree');
  renameSync(fresh, dir);
  syncDir(path.dirname(dir));
  return start;
}

export interface OpenStateOptions {
  catalog: Catalog;
  dir: string;
  writeVerifier: Buffer;
  log: Logger;
  claimed: Claimed;
}

/** Opens a session's copy-on-write state on the tree it starts from. */
export async function openSessionState(r: SessionRecord, o: OpenStateOptions): Promise<SessionState> {
  const store = o.catalog.store(r.project);
  await settleRebase(o.dir, r, o.log); // a rebase a crash cut short: finished or undone (rebase-state.ts)
  const start = await startOf(store, o.dir, r, o.claimed);
  const state = await SessionState.open({
    dir: o.dir,
    source: store,
    base: { tree: start.tree, nextIno: start.nextIno, time: { sec: r.base.time[0], nsec: r.base.time[1] } },
    owner: r.owner,
    writeVerifier: o.writeVerifier,
    log: o.log,
  });
  state.suspended = r.status === 'suspended' || r.status === 'failed'; // read-only until resumed
  if (start.tree !== r.base.tree) o.log.info({ session: r.session_id, tree: start.tree }, 'session resumed from its recorded tree');
  return state;
}
