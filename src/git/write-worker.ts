// Worker thread of WriteBehindBackend: compresses blobs and writes objects into the local data directory
// with synchronous calls, without fsync: the caller runs one syncfs when it is done.
import { mkdirSync, renameSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, threadId } from 'node:worker_threads';
import { encodeStored } from '../store/codec.js';

export interface WriteItem {
  path: string;
  data: Uint8Array;
  encode: boolean;
}
export type WriteRequest = { id: number; items: WriteItem[] };
export type WriteReply = { id: number; done: number; bytes: number; error?: string };

const dirs = new Set<string>();
const CONTENT_ADDRESSED = /\/(blobs|trees|heads)\/[0-9a-f]{2}\/[0-9a-f]{64}$/;
let seq = 0;

function writeOne(it: WriteItem): number {
  const data = it.encode ? encodeStored(Buffer.from(it.data.buffer, it.data.byteOffset, it.data.byteLength)) : it.data;
  const dir = dirname(it.path);
  if (!dirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    dirs.add(dir);
  }
  if (CONTENT_ADDRESSED.test(it.path)) {
    // Immutable and named by its hash: one that exists whole is not written again. A new one is written
    // to a temporary name and renamed, so no reader (a session sealing the same content, the daemon)
    // ever sees it half written; the importer's syncfs makes it durable before any head names it.
    try {
      if (statSync(it.path).size === data.length) return 0;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  const tmp = `${it.path}~tmp.${process.pid}.w${threadId}.${seq++}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, it.path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return data.length;
}

parentPort?.on('message', (m: WriteRequest) => {
  let bytes = 0;
  try {
    for (const it of m.items) bytes += writeOne(it);
    parentPort!.postMessage({ id: m.id, done: m.items.length, bytes } satisfies WriteReply);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, done: 0, bytes, error: (e as Error).message } satisfies WriteReply);
  }
});
