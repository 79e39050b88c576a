// mic fsck: checks every project of a store (src/store/fsck.ts), with each session's documents as roots
// (metadata.json: base, sealed tree, landed head; tree.json: the recorded tree), and each record against the
// key it is stored under. Reads the store of record: with S3 behind a disk cache, S3 itself.
import { CorruptObjectError, LocalBackend, ObjectStore, TieredBackend, type ObjectBackend } from '../store/index.js';
import type { DamagedPack } from '../store/local-packs.js';
import { listProjects } from '../store/collect-garbage.js';
import { fsckProject, type Checker, type FsckReport } from '../store/fsck.js';
import { isContentAddressedKey, isHash } from '../store/keys.js';
import { verifyContentAddressed } from '../store/disk-cache.js';
import type { SessionRecord } from './record.js';
import type { TreeDoc } from './seal.js';

export interface FsckRun {
  projects: (FsckReport & { sessions: number })[];
  /** problems across all projects, damaged pack files included */
  problems: number;
  /** pack files of the local store that are damaged (left out whole, or with objects that failed and that
   *  no other copy serves) */
  damaged_packs: DamagedPack[];
  /** damaged packed copies that another copy has replaced (a loose file written since, a sound copy in another
   *  pack): the object reads fine, nothing is lost. Informational, not problems. */
  superseded_copies: SupersededCopy[];
}

export interface SupersededCopy {
  /** the pack holding the damaged copy */
  path: string;
  key: string;
}

/** Checks the named projects (default: all of them). */
export async function fsck(backend: ObjectBackend, o: { projects?: string[]; concurrency?: number } = {}): Promise<FsckRun> {
  const b = backend instanceof TieredBackend ? backend.remote : backend;
  const run: FsckRun = { projects: [], problems: 0, damaged_packs: [], superseded_copies: [] };
  for (const project of o.projects ?? (await listProjects(b))) {
    const store = new ObjectStore(b, project, { cacheBytes: 1, treeCacheEntries: 1, readAheadBytes: 0 });
    let sessions = 0;
    const report = await fsckProject(store, {
      concurrency: o.concurrency,
      roots: async (c) => {
        sessions = await checkSessions(c);
      },
    });
    run.projects.push({ ...report, sessions });
    run.problems += report.problems.length;
  }
  if (b instanceof LocalBackend) {
    // packed records (session records, index entries, blame indexes) carry a CRC-32 that only reading them
    // checks: read them all
    b.verifyPackChecksums();
    for (const d of b.damagedPacks()) {
      const lost: string[] = [];
      for (const key of d.objects) {
        if (await servedElsewhere(b, key)) run.superseded_copies.push({ path: d.path, key });
        else lost.push(key);
      }
      if (d.whole || lost.length) run.damaged_packs.push({ ...d, objects: lost });
    }
    run.problems += run.damaged_packs.length;
  }
  return run;
}

/** True when a read of key, which skips the damaged copies found so far, gets another sound copy: a loose
 *  file (which wins over packed copies of a record) or a copy in another pack, sound as far as its CRC-32
 *  goes, and for an object named by its hash, matching it (referenced or not: the project's check above
 *  reads only referenced ones). */
async function servedElsewhere(b: LocalBackend, key: string): Promise<boolean> {
  return b.get(key).then(
    (v) => v !== null && (!isContentAddressedKey(key) || verifyContentAddressed(key, v)),
    (e: unknown) => {
      if (e instanceof CorruptObjectError) return false;
      throw e;
    },
  );
}

/** Each session document's references; returns how many sessions there are. */
async function checkSessions(c: Checker): Promise<number> {
  const store = c.store;
  const ids = new Set<string>();
  const work: Promise<void>[] = [];
  for await (const it of store.backend.list(store.prefix + 'sessions/')) {
    const [, id, doc] = it.key.slice(store.prefix.length).split('/');
    if (!id || !doc) continue;
    ids.add(id);
    if (doc !== 'metadata.json' && doc !== 'tree.json') continue;
    work.push(
      (async () => {
        const by = `session ${id} (${doc}`;
        const bytes = await store.backend.get(it.key).catch((e: unknown) => {
          if (!(e instanceof CorruptObjectError)) throw e;
          c.problem('corrupt', it.key, e.message, `session ${id}`); // a packed record failing its CRC-32
          return null;
        });
        if (!bytes) return; // removed since the listing, or corrupt
        let d: unknown;
        try {
          d = JSON.parse(bytes.toString('utf8'));
        } catch {
          return c.problem('invalid', it.key, 'not JSON', `session ${id}`);
        }
        const refs: Promise<void>[] = [];
        const ref = (kind: 'head' | 'tree', h: unknown, field: string) => {
          if (h === undefined || h === null) return;
          if (typeof h !== 'string' || !isHash(h)) return c.problem('invalid', it.key, `${field} is not a hash`, `session ${id}`);
          refs.push(kind === 'head' ? c.head(h, `${by} ${field})`) : c.tree(h, `${by} ${field}): /`));
        };
        if (doc === 'metadata.json') {
          const r = d as Partial<SessionRecord>;
          if (r.session_id !== id || r.project !== store.project) {
            c.problem('invalid', it.key, `names session ${JSON.stringify(r.session_id)} in ${JSON.stringify(r.project)}`, `session ${id}`);
          }
          ref('head', r.base?.head, 'base.head');
          ref('tree', r.base?.tree, 'base.tree');
          ref('tree', r.sealed?.tree, 'sealed.tree');
          ref('head', r.landed_head, 'landed_head');
        } else {
          const t = d as Partial<TreeDoc>;
          ref('tree', t.base, 'base');
          ref('head', t.base_head, 'base_head');
          ref('tree', t.tree, 'tree');
        }
        await Promise.all(refs);
      })(),
    );
  }
  await Promise.all(work);
  return ids.size;
}
