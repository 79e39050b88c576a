// A session on a scratch local store, for in-process tests of SessionFs: a base tree of one file (a.txt), the
// objects and the session's directory under a new temporary directory. `open` opens the session, or opens it
// again from its journal; `remove` deletes the whole directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LocalBackend, ObjectStore } from '../../src/store/index.js';
import { SessionFs } from '../../src/fs/session-fs.js';
import { HandleCodec } from '../../src/fs/handles.js';
import { importTree } from '../../src/session/project.js';

export interface ScratchSession {
  tmp: string;
  open(): Promise<SessionFs>;
  remove(): void;
}

const log = pino({ level: 'silent' });

/** A scratch session with this fsid, under `parent` (the system's temporary directory unless given). */
export async function scratchSession(prefix: string, fsid: bigint, parent = os.tmpdir()): Promise<ScratchSession> {
  const tmp = fs.mkdtempSync(path.join(parent, prefix));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'a.txt'), 'alpha\n');
  const store = new ObjectStore(new LocalBackend(path.join(tmp, 'objects'), { fsync: false }), 'test/proj');
  const base = await importTree(store, src);
  return {
    tmp,
    open: () =>
      SessionFs.open({
        fsid,
        dir: path.join(tmp, 'session'),
        source: store,
        handles: new HandleCodec(Buffer.alloc(32, 9)),
        base: { ...base, time: { sec: 1, nsec: 0 } },
        owner: { uid: 0, gid: 0 },
        writeVerifier: Buffer.alloc(8, 1),
        log,
      }),
    remove: () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}
