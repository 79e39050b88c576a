// Has this session already landed? A compare-and-swap of the head can win and still be reported lost: on
// S3 a conditional PUT whose answer is lost (or a 500 from radosgw) is settled by reading the ref back, and
// if another landing has moved the head on top of ours meanwhile, the read-back sees theirs (ABA). Landing
// again would put the session into history twice, so before each attempt the heads since the one the last
// attempt was based on are searched for this session's.
import type { ObjectStore } from '../store/index.js';
import type { HeadRecord } from '../store/head-record.js';

/** How far back a first attempt looks (for a landing that moved the head and then crashed before recording it). */
export const FIRST_ATTEMPT_DEPTH = 64;
/** A bound on any walk: heads landed on top of ours between two attempts of one landing. */
const MAX_DEPTH = 10_000;

/**
 * The newest head from `from` back (excluding `stop` and what lies behind it) that `session` landed, or null.
 * Looks at no more than `depth` heads.
 */
export async function findLandedBy(
  store: ObjectStore,
  from: { hash: string; record: HeadRecord },
  session: string,
  stop: string | null,
  depth = MAX_DEPTH,
): Promise<{ hash: string; record: HeadRecord } | null> {
  let cur: { hash: string; record: HeadRecord } | null = from;
  for (let i = 0; cur && cur.hash !== stop && i < Math.min(depth, MAX_DEPTH); i++) {
    if (cur.record.session === session) return cur;
    const parent: string | null = cur.record.parent;
    cur = parent ? { hash: parent, record: await store.getHeadRecord(parent) } : null;
  }
  return null;
}
