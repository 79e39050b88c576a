// Recovery: a session's state is its checkpoint (every changed inode and listing) plus the journal
// records appended since. Replaying them is idempotent: each record carries a whole state.
import type { Logger } from 'pino';
import { Directory } from './directory.js';
import { Inode, ROOT_INO, type InodeState } from './inode.js';
import { Journal, type Checkpoint, type JournalRecord } from './journal.js';
import type { DataFiles } from './data-files.js';

/** What recovery needs of the session state (session-state.ts). */
export interface RecoveryTarget {
  readonly o: { dir: string };
  readonly inodes: Map<number, Inode>;
  nextIno: number;
  readonly root: Inode;
  readonly data: DataFiles;
  readonly journal: Journal;
  readonly log: Logger;
  listing(d: Inode): Promise<Directory>;
  materialize(d: Inode, dir: Directory): Promise<void>;
  tryCheckpoint(): void;
}

export async function recover(s: RecoveryTarget): Promise<void> {
  const dir = s.o.dir;
  const cp = Journal.readCheckpoint(dir);
  const gen = cp?.gen ?? 0;
  if (cp) {
    s.nextIno = Math.max(s.nextIno, cp.nextIno);
    for (const st of cp.inodes) installState(s, st);
    for (const d of cp.dirs) {
      const n = s.inodes.get(d.ino);
      if (!n) continue;
      const listing = new Directory();
      for (const [name, ino, seq] of d.slots) listing.add(name, ino, seq);
      listing.nextSeq = Math.max(listing.nextSeq, d.nextSeq);
      n.dir = listing;
    }
  }
  const records = Journal.read(dir, gen);
  for (const rec of records) await replay(s, rec);
  // local data files are the truth for sizes (unstable writes need no journal record)
  for (const n of s.inodes.values()) if (n.local) n.size = s.data.size(n.ino);
  s.data.removePartial(); // a truncation's replacement file, killed before its rename (DataFiles.replace)
  // data files of inodes freed before the crash (removed only once the freeing was durable)
  for (const ino of s.data.list()) if (!s.inodes.get(ino)?.local) s.data.remove(ino);
  for (const n of s.inodes.values()) if (n.dir) await s.materialize(n, n.dir);
  s.journal.gen = gen;
  s.journal.open();
  if (records.length) s.tryCheckpoint();
  if (records.length || cp) s.log.info({ dir, records: records.length }, 'session state recovered');
}

function installState(s: RecoveryTarget, st: InodeState): Inode {
  const old = s.inodes.get(st.ino);
  const n = Inode.fromState(st);
  if (old?.dir) n.dir = old.dir;
  n.dirty = true;
  if (st.ino === ROOT_INO) Object.assign(s.root, n.state(), { dirty: true });
  else s.inodes.set(st.ino, n);
  if (st.ino >= s.nextIno) s.nextIno = st.ino + 1;
  return st.ino === ROOT_INO ? s.root : n;
}

async function replay(s: RecoveryTarget, rec: JournalRecord): Promise<void> {
  switch (rec.t) {
    case 'i':
      installState(s, rec.s);
      break;
    case 'g':
      s.inodes.delete(rec.i);
      if (rec.i >= s.nextIno) s.nextIno = rec.i + 1;
      break;
    case 'a':
    case 'r': {
      const d = s.inodes.get(rec.d);
      if (!d) return;
      const listing = await s.listing(d);
      if (rec.t === 'a') {
        listing.remove(rec.n);
        listing.add(rec.n, rec.i, rec.q);
      } else listing.remove(rec.n);
      break;
    }
  }
}

/** Write the whole changed state as a checkpoint; the journal starts a new generation. */
export function writeCheckpoint(s: RecoveryTarget): void {
  const cp: Checkpoint = { gen: s.journal.gen + 1, nextIno: s.nextIno, inodes: [], dirs: [] };
  for (const n of s.inodes.values()) {
    if (!n.dirty) continue;
    cp.inodes.push(n.state());
    if (n.dir) {
      const slots: [string, number, number][] = [];
      for (const sl of n.dir.after(0)) slots.push([sl.name, sl.ino, sl.seq]);
      cp.dirs.push({ ino: n.ino, nextSeq: n.dir.nextSeq, slots });
    }
  }
  s.journal.checkpoint(cp);
}
