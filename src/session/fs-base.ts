// The tree a session's state starts from: the session's base, or, after a handoff (or when this data
// dir has no local state for it), the tree last recorded in sessions/<id>/tree.json. The local journal is
// relative to that tree, so <session dir>/start.json keeps it; the open state knows it (SessionState.start).
// Landing still diffs and merges against r.base.
import { existsSync } from 'node:fs';
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
import { mkdirDurable, writeFileDurable } from '../core/durable.js';

async function startOf(store: ObjectStore, dir: string, r: SessionRecord, claimed: Claimed): Promise<StartTree> {
  // taking over a handed-off session: local state of an earlier stay here is out of date
  if (claimed === 'released' || claimed === 'forced') await rm(dir, { recursive: true, force: true });
  const file = path.join(dir, 'start.json');
  if (existsSync(dir)) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as StartTree;
    } catch {
      return r.base;
    }
  }
  const doc = await readTreeDoc(store, r);
  if (!doc || doc.tree === r.base.tree) return r.base;
  const start = { tree: doc.tree, nextIno: Math.max(doc.nextIno, r.base.nextIno) };
  mkdirDurable(dir);
  writeFileDurable(file, JSON.stringify(start)); // the journal is relative to it
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
