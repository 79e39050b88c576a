// A damaged pack file (store/local-packs.ts) affects only the objects in it: truncated, zero-length after a
// crash, a bit flipped in its index or trailer, a bit flipped in an object's bytes, unreadable. Real pack files
// written by PackWriter, damaged on disk, read through ObjectStore: other packs and loose objects are served,
// the affected objects fail with an error that names the pack, each damaged pack is logged once (pino), and a
// copy written again (loose) serves from then on.
import { describe, expect, it } from 'vitest';
import { mkdirSync, openSync, readSync, statSync, truncateSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { LocalBackend } from '../../src/store/local-backend.js';
import { PackWriter } from '../../src/store/local-pack-writer.js';
import { PACKS_DIR, TRAILER_BYTES } from '../../src/store/pack-index.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { encodeStored, sha256Hex } from '../../src/store/codec.js';
import { CorruptObjectError, MissingObjectError } from '../../src/store/errors.js';
import { flipByte, tempDir } from './helpers.js';

const P = 'a/b';
const key = (h: string) => `projects/${P}/blobs/${h.slice(0, 2)}/${h}`;

/** A pack of real blobs (stored encoding, keyed by content hash); returns its path and the blobs' hashes. */
function blobPack(root: string, name: string, n: number): { path: string; contents: Buffer[]; hashes: string[] } {
  const w = new PackWriter(root);
  const contents: Buffer[] = [];
  for (let i = 0; i < n; i++) contents.push(Buffer.from(`${name} object ${i} `.repeat(20 + i)));
  const hashes = contents.map((c) => sha256Hex(c));
  contents.forEach((c, i) => w.append(key(hashes[i]!), encodeStored(c)));
  return { path: w.finish()!, contents, hashes };
}

/** Where a pack's index starts (from its trailer). */
function indexAt(path: string): number {
  const fd = openSync(path, 'r');
  const t = Buffer.alloc(TRAILER_BYTES);
  readSync(fd, t, 0, TRAILER_BYTES, statSync(path).size - TRAILER_BYTES);
  closeSync(fd);
  return Number(t.readBigUInt64BE(0));
}

function capture(): { log: pino.Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('damaged pack files', () => {
  it('each kind of damage affects only that pack; the rest is served; logged once each; a copy written again serves', async () => {
    const root = await tempDir();
    const good = blobPack(root, 'good', 3);
    const truncated = blobPack(root, 'truncated', 2);
    const indexFlip = blobPack(root, 'index', 2);
    const trailerFlip = blobPack(root, 'trailer', 2);
    const bodyFlip = blobPack(root, 'body', 3);
    const late = blobPack(root, 'late', 3);
    const { log, lines } = capture();
    // a daemon that has the packs open already: the late pack loses its tail under it
    const earlyLog = capture();
    const early = new ObjectStore(new LocalBackend(root, { log: earlyLog.log }), P, { cacheBytes: 1, readAheadBytes: 0 });
    expect(await early.getBlob(late.hashes[2]!)).toEqual(late.contents[2]);
    const loose = Buffer.from('a loose object\n'.repeat(10));
    const looseHash = await early.putBlob(loose);

    truncateSync(truncated.path, statSync(truncated.path).size - 5); // a torn write: trailer gone
    flipByte(indexFlip.path, indexAt(indexFlip.path) + 2 + key(indexFlip.hashes[0]!).length + 5); // an offset's low bit
    flipByte(trailerFlip.path, statSync(trailerFlip.path).size - TRAILER_BYTES + 11); // the index count
    flipByte(bodyFlip.path, 8 + 20); // inside the first object's bytes
    const zero = join(root, PACKS_DIR, 'zero-after-crash.pack');
    writeFileSync(zero, ''); // a pack renamed into place whose data never reached the disk
    const unreadable = join(root, PACKS_DIR, 'unreadable.pack');
    mkdirSync(unreadable); // opens, but every read fails (EISDIR): as an unreadable file does
    truncateSync(late.path, indexAt(late.path) - 3); // the open late pack loses its tail (index and the last object's end)
    // a daemon started after the damage
    const backend = new LocalBackend(root, { log });
    const store = new ObjectStore(backend, P, { cacheBytes: 1, readAheadBytes: 0 });

    // the good pack, the loose object, the undamaged objects of the body-flipped pack: served, repeatedly
    for (let round = 0; round < 2; round++) {
      store.dropCaches();
      early.dropCaches();
      for (let i = 0; i < 3; i++) expect(await store.getBlob(good.hashes[i]!)).toEqual(good.contents[i]);
      expect(await store.getBlob(looseHash)).toEqual(loose);
      expect(await store.getBlob(bodyFlip.hashes[1]!)).toEqual(bodyFlip.contents[1]);
      expect(await store.getBlob(bodyFlip.hashes[2]!)).toEqual(bodyFlip.contents[2]);
      expect(await early.getBlob(late.hashes[0]!)).toEqual(late.contents[0]);
      // the objects of packs left out: missing, and the error says which damaged packs may hold them
      for (const p of [truncated, indexFlip, trailerFlip]) {
        const err = await store.getBlob(p.hashes[0]!).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MissingObjectError);
        expect((err as Error).message).toContain(truncated.path);
        expect((err as Error).message).toContain(zero);
        expect((err as Error).message).toContain(unreadable);
      }
      // the flipped object: corrupt, naming its pack; the object cut off the late pack: unreadable, naming it;
      // from then on that copy is skipped: missing, and the error still names the pack
      const flipped = await store.getBlob(bodyFlip.hashes[0]!).catch((e: unknown) => e);
      expect(flipped).toBeInstanceOf(round === 0 ? CorruptObjectError : MissingObjectError);
      expect((flipped as Error).message).toContain(`damaged pack ${bodyFlip.path}`);
      expect((flipped as Error).message).toContain('hash mismatch');
      const cut = await early.getBlob(late.hashes[2]!).catch((e: unknown) => e);
      expect(cut).toBeInstanceOf(round === 0 ? CorruptObjectError : MissingObjectError);
      expect((cut as Error).message).toContain(`pack ${late.path}`);
      expect((cut as Error).message).toContain('short read');
      early.dropCaches();
    }

    // logged once per damaged pack, with its path
    const warned = lines.filter((l) => /damaged pack file/.test(l.msg)).map((l) => l.pack as string);
    expect(warned.sort()).toEqual([truncated.path, indexFlip.path, trailerFlip.path, bodyFlip.path, late.path, zero, unreadable].sort());
    // the early one: the late pack (only its cut object), and the two that appeared since
    expect(
      earlyLog.lines
        .filter((l) => /damaged pack file/.test(l.msg))
        .map((l) => l.pack as string)
        .sort(),
    ).toEqual([late.path, zero, unreadable].sort());
    const report = backend.damagedPacks();
    expect(report.map((d) => d.path).sort()).toEqual(warned.sort());
    expect(report.find((d) => d.path === late.path)).toMatchObject({ whole: true, reason: 'pack trailer damaged' });
    expect((early.backend as LocalBackend).damagedPacks().find((d) => d.path === late.path)).toMatchObject({
      whole: false,
      objects: [key(late.hashes[2]!)],
    });
    expect(report.find((d) => d.path === bodyFlip.path)).toMatchObject({ whole: false, objects: [key(bodyFlip.hashes[0]!)] });
    expect(report.find((d) => d.path === zero)).toMatchObject({ whole: true, reason: 'pack too short' });
    expect(report.find((d) => d.path === indexFlip.path)!.reason).toMatch(/tile/);

    // the same content written again (a session sealing it, a re-import) is a loose copy that serves
    for (const [s, p, i] of [
      [store, bodyFlip, 0],
      [store, truncated, 1],
      [early, late, 2],
    ] as const) {
      expect(await s.putBlob(p.contents[i]!)).toBe(p.hashes[i]);
      s.dropCaches();
      expect(await s.getBlob(p.hashes[i]!)).toEqual(p.contents[i]);
    }
    // and another process (a fresh backend) reads the same: good objects, clear errors
    const other = new ObjectStore(new LocalBackend(root), P, { cacheBytes: 1, readAheadBytes: 0 });
    expect(await other.getBlob(good.hashes[1]!)).toEqual(good.contents[1]);
    expect(await other.getBlob(bodyFlip.hashes[0]!)).toEqual(bodyFlip.contents[0]); // the loose copy
    await expect(other.getBlob(indexFlip.hashes[1]!)).rejects.toThrow(/damaged pack file\(s\) may hold it/);
    expect(lines.filter((l) => /damaged pack file/.test(l.msg))).toHaveLength(warned.length); // no new lines
  });
});

describe('checksums of packed objects not named by their hash', () => {
  const rec = (id: string) => `projects/${P}/sessions/${id}/metadata.json`;
  const record = (id: string, goal: string) => Buffer.from(JSON.stringify({ session_id: id, goal, epoch: 3 }));

  it('a bit flipped in a packed session record fails with an error naming the pack, not a wrong record', async () => {
    const root = await tempDir();
    const w = new PackWriter(root);
    const blob = Buffer.from('a packed blob '.repeat(30));
    const h = sha256Hex(blob);
    w.append(key(h), encodeStored(blob));
    const at = w.append(rec('s1'), record('s1', 'goal 1'));
    w.append(rec('s2'), record('s2', 'goal 2'));
    const path = w.finish()!;
    const before = record('s1', 'goal 1');
    const i = before.indexOf('epoch":3') + 'epoch":'.length;
    flipByte(path, at.offset + i); // "3" becomes "2": still a valid record, a wrong one
    const { log, lines } = capture();
    const backend = new LocalBackend(root, { log });
    const e = await backend.get(rec('s1')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CorruptObjectError);
    expect((e as Error).message).toContain(`pack ${path}`);
    expect((e as Error).message).toMatch(/checksum mismatch/);
    // the rest of the pack is served; the bad copy is skipped from then on and reported
    expect((await backend.get(rec('s2')))!.equals(record('s2', 'goal 2'))).toBe(true);
    expect(await new ObjectStore(backend, P).getBlob(h)).toEqual(blob);
    expect(await backend.get(rec('s1'))).toBeNull();
    expect(backend.damagedPacks()).toMatchObject([{ path, whole: false, objects: [rec('s1')] }]);
    expect(lines.filter((l) => /damaged pack file/.test(l.msg)).map((l) => l.pack)).toEqual([path]);
    // written again (the record updated), the loose copy serves
    await backend.put(rec('s1'), before);
    expect((await backend.get(rec('s1')))!.equals(before)).toBe(true);
  });

  it('a pack written before checksums (trailer MICI, no CRC in its index) is still read', async () => {
    const root = await tempDir();
    mkdirSync(join(root, PACKS_DIR), { recursive: true });
    const objs = [
      [rec('old'), record('old', 'from an older pack')],
      [key(sha256Hex(Buffer.from('old blob'))), encodeStored(Buffer.from('old blob'))],
    ] as const;
    const parts: Buffer[] = [Buffer.from('MICPACK1')];
    const index: Buffer[] = [];
    let offset = 8;
    for (const [k, data] of objs) {
      const kb = Buffer.from(k);
      const e = Buffer.alloc(12 + kb.length);
      e.writeUInt16BE(kb.length, 0);
      kb.copy(e, 2);
      e.writeUIntBE(offset, 2 + kb.length, 6);
      e.writeUInt32BE(data.length, 8 + kb.length);
      index.push(e);
      parts.push(data);
      offset += data.length;
    }
    const t = Buffer.alloc(TRAILER_BYTES);
    t.writeBigUInt64BE(BigInt(offset), 0);
    t.writeUInt32BE(objs.length, 8);
    t.write('MICI', 12, 'latin1');
    writeFileSync(join(root, PACKS_DIR, 'old.pack'), Buffer.concat([...parts, ...index, t]));
    const backend = new LocalBackend(root);
    expect((await backend.get(rec('old')))!.equals(record('old', 'from an older pack'))).toBe(true);
    expect(await new ObjectStore(backend, P).getBlob(sha256Hex(Buffer.from('old blob')))).toEqual(Buffer.from('old blob'));
    expect(backend.damagedPacks()).toEqual([]);
  });
});
