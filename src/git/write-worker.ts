// Worker thread of WriteBehindBackend: compresses blobs and writes objects into the local data directory
// with synchronous calls, without fsync for files (the caller runs one syncfs when any were written; a pack is
// fsynced when it is finished). Immutable objects of a project (blobs, trees, head records, blame index
// objects) and the session records and index entries go into one pack file per worker
// (store/local-pack-writer.ts), not a file each, one write a batch; anything else is a file.
import { mkdirSync, renameSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { encodeStored, encodeStoredInto, storedBound } from '../store/codec.js';
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
/** pack: the temporary pack file this worker appends to (null: nothing of the batch was packed); offsets[i]:
 *  where item i lies in it (-1: not packed: written as a file, or already stored), lengths[i] its stored length;
 *  loose: items written as files (they need the caller's syncfs; packs are made durable by finish). */
export type WriteReply = {
  id: number;
  done: number;
  bytes: number;
  pack?: string | null;
  offsets?: Float64Array;
  lengths?: Uint32Array;
  loose?: number;
  error?: string;
};

const root: string = (workerData as { root: string } | null)?.root ?? '/';
const dirs = new Set<string>();
const CONTENT_ADDRESSED = /\/(blobs|trees|heads)\/[0-9a-f]{2}\/[0-9a-f]{64}$/;
let writer: PackWriter | null = null;
/** Documents a session changes later (a record) are packed too: a loose file written later wins. */
const PACKED = PACKABLE;
const packs = new LocalPacks(root, false, { once: true });
let seq = 0;
/** A batch's packed objects laid out back to back, written to the pack with one call (grows as needed). */
let staging = Buffer.allocUnsafe(4 * 1024 * 1024);

/** Directories holding documents (a project's sessions/, index/sessions/) that did not exist when first looked
 *  at: no document in them can be a file, so none is looked for (a stat per record, and the error object of
 *  its ENOENT, was a fifth of a worker's time). This import's own documents go into its packs. */
const noDocuments = new Set<string>();
const DOCUMENT_DIR = /^(projects\/[^/]+\/[^/]+\/sessions|index\/sessions)\//;

/** Whether a document (not named by its hash) is already a file: then it stays one (a loose file wins). */
function documentIsFile(key: string): boolean {
  const m = DOCUMENT_DIR.exec(key);
  if (m) {
    if (noDocuments.has(m[1]!)) return false;
    if (!statSync(join(root, m[1]!), { throwIfNoEntry: false })) {
      noDocuments.add(m[1]!);
      return false;
    }
  }
  return statSync(join(root, key), { throwIfNoEntry: false }) !== undefined;
}

/** Writes one item as a file; returns the bytes written (0: an object already stored whole). */
function writeLoose(it: WriteItem, named: boolean): number {
  const data = it.encode ? encodeStored(Buffer.from(it.data.buffer, it.data.byteOffset, it.data.byteLength)) : it.data;
  const path = join(root, it.key);
  const dir = dirname(path);
  if (!dirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    dirs.add(dir);
  }
  // Immutable and named by its hash: one that exists whole is not written again. A new one is written
  // to a temporary name and renamed, so no reader (a session sealing the same content, the daemon)
  // ever sees it half written; the importer's syncfs makes it durable before any head names it.
  if (named) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && st.size === data.length) return 0;
  }
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

/** Writes a batch: packable objects compressed straight into the staging buffer and appended to this worker's
 *  pack with one write, anything else as a file each. */
function writeBatch(items: WriteItem[], reply: WriteReply): void {
  const offsets = new Float64Array(items.length).fill(-1);
  const lengths = new Uint32Array(items.length);
  const keys: string[] = [];
  const starts: number[] = [];
  const sizes: number[] = [];
  const index: number[] = [];
  let pos = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    const named = CONTENT_ADDRESSED.test(it.key);
    // named by its hash: one already stored is not stored again; a document already a file stays one (it wins)
    if (!PACKED.test(it.key) || (!named && documentIsFile(it.key))) {
      reply.bytes += writeLoose(it, named);
      reply.loose!++;
      continue;
    }
    writer ??= new PackWriter(root);
    // (against the packs there were when the worker started: a copy written meanwhile costs only bytes)
    if (named && (writer.has(it.key) || packs.lookup(it.key))) continue;
    const need = pos + (it.encode ? storedBound(it.data.length) : it.data.length);
    if (need > staging.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, staging.length * 2));
      staging.copy(grown, 0, 0, pos);
      staging = grown;
    }
    let n: number;
    if (it.encode) n = encodeStoredInto(it.data, staging, pos);
    else {
      staging.set(it.data, pos);
      n = it.data.length;
    }
    keys.push(it.key);
    starts.push(pos);
    sizes.push(n);
    index.push(i);
    lengths[i] = n;
    pos += n;
  }
  if (keys.length) {
    const base = writer!.appendRun(staging, pos, keys, starts, sizes);
    for (let j = 0; j < index.length; j++) offsets[index[j]!] = base + starts[j]!;
    reply.bytes += pos;
    reply.pack = writer!.tmpPath;
  }
  reply.offsets = offsets;
  reply.lengths = lengths;
}

parentPort?.on('message', (m: WriteRequest) => {
  const reply: WriteReply = { id: m.id, done: 0, bytes: 0, pack: null, loose: 0 };
  try {
    if (m.finish || m.abort) {
      if (m.finish) writer?.finish();
      else writer?.abort();
      writer = null;
    }
    if (m.batch) {
      const items = batchItems(m.batch);
      writeBatch(items, reply);
      reply.done = items.length;
    }
    parentPort!.postMessage(reply);
  } catch (e) {
    parentPort!.postMessage({
      id: m.id,
      done: 0,
      bytes: reply.bytes,
      loose: reply.loose,
      error: (e as Error).message,
    } satisfies WriteReply);
  }
});
