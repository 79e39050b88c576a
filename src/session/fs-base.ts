// The tree a session's filesystem starts from: the session's base, or, after a handoff (or when this data
// dir has no local state for it), the tree last recorded in sessions/<id>/tree.json. The local journal is
// relative to that tree, so <session dir>/start.json keeps it. Landing still diffs and merges against r.base.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { SessionFs } from '../fs/session-fs.js';
import type { HandleCodec } from '../fs/handles.js';
import type { ObjectStore } from '../store/index.js';
import type { Catalog } from './catalog.js';
import type { Claimed } from './ownership.js';
import { fsidOf, type SessionRecord } from './record.js';
import type { TreeDoc } from './seal.js';

export interface FsBase { tree: string; nextIno: number }

const bases = new WeakMap<SessionFs, FsBase>();

/** The tree the open filesystem started from (its sealing needs its nextIno). */
export function fsBaseOf(fs: SessionFs, r: SessionRecord): FsBase { return bases.get(fs) ?? r.base; }

export async function readTreeDoc(store: ObjectStore, r: SessionRecord): Promise<TreeDoc | null> {
  const doc = await store.getJson<TreeDoc>(`sessions/${r.session_id}/tree.json`);
  // a tree.json of an earlier base (before a rebase) does not describe this session
  return doc && doc.base === r.base.tree && (doc.base_head ?? r.base.head) === r.base.head ? doc : null;
}

async function startOf(store: ObjectStore, dir: string, r: SessionRecord, claimed: Claimed): Promise<FsBase> {
  // taking over a handed-off session: local state of an earlier stay here is out of date
  if (claimed === 'released' || claimed === 'forced') await rm(dir, { recursive: true, force: true });
  const file = path.join(dir, 'start.json');
  if (existsSync(dir)) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as FsBase;
    } catch {
      return r.base;
    }
  }
  const doc = await readTreeDoc(store, r);
  if (!doc || doc.tree === r.base.tree) return r.base;
  const start = { tree: doc.tree, nextIno: Math.max(doc.nextIno, r.base.nextIno) };
  await mkdir(dir, { recursive: true });
  await writeFile(file, JSON.stringify(start));
  return start;
}

export interface OpenFsOptions {
  catalog: Catalog;
  dir: string;
  handles: HandleCodec;
  writeVerifier: Buffer;
  log: Logger;
  claimed: Claimed;
  readWaitMs?: number;
}

/** Opens a session's filesystem on the tree it starts from. */
export async function openSessionFs(r: SessionRecord, o: OpenFsOptions): Promise<SessionFs> {
  const store = o.catalog.store(r.project);
  const start = await startOf(store, o.dir, r, o.claimed);
  const fs = await SessionFs.open({
    fsid: fsidOf(r.session_id, r.epoch ?? 0),
    dir: o.dir,
    source: store,
    handles: o.handles,
    base: { tree: start.tree, nextIno: start.nextIno, time: { sec: r.base.time[0], nsec: r.base.time[1] } },
    owner: r.owner,
    writeVerifier: o.writeVerifier,
    log: o.log,
    readWaitMs: o.readWaitMs,
  });
  fs.suspended = r.status === 'suspended';
  bases.set(fs, start);
  if (start.tree !== r.base.tree) o.log.info({ session: r.session_id, tree: start.tree }, 'session resumed from its recorded tree');
  return fs;
}
