// Pack files of a local data directory as tests look at them: which there are, where a key's object lies in
// one (its index parsed the way store/local-packs.ts lays it out), and the daemon's count of damaged ones.
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { carriesCrc, INDEX_MAGIC_CRC, PACKS_DIR, TRAILER_BYTES } from '../../src/store/pack-index.js';

export const packsOf = (dataDir: string) =>
  new Set(
    readdirSync(join(dataDir, 'objects', PACKS_DIR))
      .filter((n) => n.endsWith('.pack'))
      .map((n) => join(dataDir, 'objects', PACKS_DIR, n)),
  );

/** Offset and length of a key's object in a pack (parsing the index the way local-packs.ts lays it out). */
export function locate(path: string, key: string): { offset: number; length: number } | null {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const t = Buffer.alloc(TRAILER_BYTES);
    readSync(fd, t, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    const at = Number(t.readBigUInt64BE(0));
    const idx = Buffer.alloc(size - TRAILER_BYTES - at);
    readSync(fd, idx, 0, idx.length, at);
    const withCrc = t.toString('latin1', 12) === INDEX_MAGIC_CRC;
    for (let o = 0; o < idx.length;) {
      const n = idx.readUInt16BE(o);
      const k = idx.toString('utf8', o + 2, o + 2 + n);
      if (k === key) return { offset: idx.readUIntBE(o + 2 + n, 6), length: idx.readUInt32BE(o + 8 + n) };
      o += 12 + n + (withCrc && carriesCrc(k) ? 4 : 0);
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** mic_store_damaged_packs from the daemon's /metrics. */
export async function damagedGauge(dataDir: string): Promise<number> {
  const info = JSON.parse(readFileSync(join(dataDir, 'daemon.json'), 'utf8'));
  const token = readFileSync(info.api_token_file, 'utf8').trim();
  const text = await (await fetch(`http://127.0.0.1:${info.api_port}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const m = /^mic_store_damaged_packs (\d+)$/m.exec(text);
  expect(m, 'mic_store_damaged_packs is exported').not.toBeNull();
  return Number(m![1]);
}
