// sessions/<id>/tree.json: the session's last sealed tree, and the base (tree and head) it is measured
// against. Kept current by the background sealer and by handoff, so another daemon can take over.
import type { ObjectStore } from '../store/index.js';
import type { SessionRecord } from './record.js';

export interface TreeDoc {
  base: string;
  base_head?: string;
  tree: string;
  nextIno: number;
  sealed_at: string;
}

/** The session's recorded tree, or null when there is none for its current base. */
export async function readTreeDoc(store: ObjectStore, r: SessionRecord): Promise<TreeDoc | null> {
  const doc = await store.getJson<TreeDoc>(`sessions/${r.session_id}/tree.json`);
  // a tree.json of an earlier base (before a rebase) does not describe this session
  return doc && doc.base === r.base.tree && (doc.base_head ?? r.base.head) === r.base.head ? doc : null;
}

/** Write sessions/<id>/tree.json for a sealed tree. */
export async function recordTree(store: ObjectStore, r: SessionRecord, sealed: { tree: string; nextIno: number }): Promise<void> {
  const doc: TreeDoc = {
    base: r.base.tree,
    base_head: r.base.head,
    tree: sealed.tree,
    nextIno: sealed.nextIno,
    sealed_at: new Date().toISOString(),
  };
  await store.putJson(`sessions/${r.session_id}/tree.json`, doc);
}
