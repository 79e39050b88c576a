// Shared test helpers: real temp directories and a LocalBackend that counts its calls.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { LocalBackend, type LocalBackendOptions } from '../../src/store/local-backend.js';
import { PackWriter } from '../../src/store/local-pack-writer.js';
import { sha256Hex } from '../../src/store/codec.js';
import type { TreeEntry } from '../../src/store/tree-entry.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'micfs-store-'));
  dirs.push(d);
  return d;
}

/** A blob key of project a/b whose hash is one hex digit repeated (the pack tests' objects). */
export const packTestBlob = (c: string): string => `projects/a/b/blobs/${c}${c}/${c.repeat(64)}`;

/** Writes one pack file of (key, text) objects under root with the real PackWriter; returns its path. */
export function writePack(root: string, objects: [string, string][]): string {
  const w = new PackWriter(root);
  for (const [k, v] of objects) w.append(k, Buffer.from(v));
  return w.finish()!;
}

/** A real LocalBackend that records the keys it reads and writes. */
export class CountingBackend extends LocalBackend {
  puts: string[] = [];
  gets: string[] = [];
  has_: string[] = [];
  constructor(root: string, opts?: LocalBackendOptions) {
    super(root, opts);
  }
  override async put(key: string, data: Buffer): Promise<void> {
    this.puts.push(key);
    return super.put(key, data);
  }
  override async putBehind(key: string, data: Buffer): Promise<void> {
    this.puts.push(key);
    return super.putBehind(key, data);
  }
  override async get(key: string): Promise<Buffer | null> {
    this.gets.push(key);
    return super.get(key);
  }
  override async has(key: string): Promise<boolean> {
    this.has_.push(key);
    return super.has(key);
  }
  reset(): void {
    this.puts = [];
    this.gets = [];
    this.has_ = [];
  }
}

/** Every file path under dir, relative. */
export async function allFiles(dir: string): Promise<string[]> {
  const out = await readdir(dir, { recursive: true, withFileTypes: true });
  return out.filter((d) => d.isFile()).map((d) => join(d.parentPath ?? d.path, d.name).slice(dir.length + 1));
}

export function fileEntry(i: number, variant = 0): TreeEntry {
  return {
    name: `file-${i}.txt`,
    kind: 'file',
    mode: 0o644,
    ino: i + 2,
    size: i + variant,
    mtime: [1_700_000_000 + i, variant],
    hash: sha256Hex(`content ${i} ${variant}`),
  };
}

/** Deterministic Fisher-Yates shuffle. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const a = [...items];
  let s = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Flips one bit of the byte at offset `at` of the file (damage on disk). */
export function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] ^= 0x01;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}
