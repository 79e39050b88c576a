// Worker thread of WriteBehindBackend: compresses blobs and writes objects into the local data directory
// with synchronous calls, without fsync: the caller runs one syncfs when it is done. Immutable objects of a
// project (blobs, trees, head records, blame index objects) and the session records and index entries go
// into one pack file per worker (store/local-pack-writer.ts), not a file each; anything else is a file.
import { mkdirSync, renameSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { encodeStored } from '../store/codec.js';
import { LocalPacks } from '../store/local-packs.js';
import { PACKABLE } from '../store/pack-index.js';
import { PackWriter } from '../store/local-pack-writer.js';

export interface WriteItem {
  key: string;
  data: Uint8Array;
  encode: boolean;
}
/** A batch of items as one message: their keys joined by NUL (keys never hold one), their bytes one after
 *  the other in one shared buffer. Cloning one string and two small arrays costs far less than
 *  cloning hundreds of objects holding views. */
export interface WriteBatch {
  keys: string;
  lengths: Uint32Array;
  /** 1: compress (encodeStored) before writing */
  encode: Uint8Array;
  /** shared with the sender, who reuses it once this batch is answered: nothing may keep a view of it */
  data: SharedArrayBuffer;
}
/** items to write; finish: close this worker's packs (into place, durable); abort: remove them */
export type WriteRequest = { id: number; batch?: WriteBatch; finish?: boolean; abort?: boolean };

/** The items of a batch, as views of its buffer. */
export function batchItems(b: WriteBatch): WriteItem[] {
  const keys = b.keys.split('\0');
  let at = 0;
  return keys.map((key, i) => {
    const data = new Uint8Array(b.data, at, b.lengths[i]!);
    at += b.lengths[i]!;
    return { key, data, encode: b.encode[i] === 1 };
  });
}
/** located: packed items, [key, temporary pack path, offset, length] */
export type WriteReply = { id: number; done: number; bytes: number; located?: [string, string, number, number][]; error?: string };

const root: string = (workerData as { root: string } | null)?.root ?? '/';
const dirs = new Set<string>();
const CONTENT_ADDRESSED = /\/(blobs|trees|heads)\/[0-9a-f]{2}\/[0-9a-f]{64}$/;
let writer: PackWriter | null = null;
/** Documents a session changes later (a record) are packed too: a loose file written later wins. */
const PACKED = PACKABLE;
const packs = new LocalPacks(root, false, { once: true });
let seq = 0;

function exists(path: string, size: number | null): boolean {
  try {
    const st = statSync(path);
    return size === null || st.size === size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return false;
  }
}

function writeOne(it: WriteItem, located: [string, string, number, number][]): number {
  const data = it.encode ? encodeStored(Buffer.from(it.data.buffer, it.data.byteOffset, it.data.byteLength)) : it.data;
  const path = join(root, it.key);
  const named = CONTENT_ADDRESSED.test(path);
  // named by its hash: one already stored is not stored again; a document already a file stays one (it wins)
  if (PACKED.test(it.key) && !(!named && exists(path, null))) {
    writer ??= new PackWriter(root);
    const w = writer;
    // (against the packs there were when the worker started: a copy written meanwhile costs only bytes)
    if (named && (w.has(it.key) || packs.lookup(it.key))) return 0;
    const at = w.append(it.key, data);
    located.push([it.key, w.tmpPath, at.offset, at.length]);
    return data.length;
  }
  const dir = dirname(path);
  if (!dirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    dirs.add(dir);
  }
  // Immutable and named by its hash: one that exists whole is not written again. A new one is written
  // to a temporary name and renamed, so no reader (a session sealing the same content, the daemon)
  // ever sees it half written; the importer's syncfs makes it durable before any head names it.
  if (named && exists(path, data.length)) return 0;
  const tmp = `${path}~tmp.${process.pid}.w${threadId}.${seq++}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return data.length;
}

parentPort?.on('message', (m: WriteRequest) => {
  let bytes = 0;
  const located: [string, string, number, number][] = [];
  try {
    if (m.finish || m.abort) {
      if (m.finish) writer?.finish();
      else writer?.abort();
      writer = null;
    }
    const items = m.batch ? batchItems(m.batch) : [];
    for (const it of items) bytes += writeOne(it, located);
    parentPort!.postMessage({ id: m.id, done: items.length, bytes, located } satisfies WriteReply);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, done: 0, bytes, error: (e as Error).message } satisfies WriteReply);
  }
});
