// The data directory: objects (the embedded store), session write-back areas, the handle secret.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openBackend, type BackendOptions } from '../store/open-backend.js';
import { Catalog } from '../session/catalog.js';

export function defaultDataDir(): string {
  return process.env.MIC_DATA_DIR || path.join(os.homedir(), '.mic');
}

/** The key that makes file handles unforgeable; created once, kept for the data dir's life. */
export function handleSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'secret');
  let existing: Buffer | null = null;
  try {
    existing = fs.readFileSync(file);
  } catch { /* first use */ }
  if (existing !== null) {
    if (existing.length >= 32) return existing;
    // a truncated secret would make handles forgeable: never use it, never silently replace it
    throw new Error(`${file} holds ${existing.length} bytes, fewer than 32: remove it (mounted clients must mount again; mic doctor checks it)`);
  }
  const s = randomBytes(32);
  try {
    fs.writeFileSync(file, s, { mode: 0o600, flag: 'wx' });
    return s;
  } catch {
    return fs.readFileSync(file); // another process created it first
  }
}

/**
 * The catalog over the configured backend: <dataDir>/objects by default, S3 (behind a disk cache in
 * <dataDir>/cache) when MIC_S3_BUCKET or opts.s3Bucket is set. With S3, the first operation checks
 * bucket access and conditional writes and fails with a one-line reason; call checkBackend(catalog.backend)
 * to do that eagerly.
 */
export function openCatalog(dataDir: string, opts?: BackendOptions): Catalog {
  fs.mkdirSync(dataDir, { recursive: true });
  return new Catalog(openBackend(dataDir, opts));
}
