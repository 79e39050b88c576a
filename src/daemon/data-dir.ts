// The data directory: objects (the embedded store), session write-back areas, the handle secret.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openBackend, type BackendOptions } from '../store/open-backend.js';
import { Catalog } from '../session/catalog.js';
import { writeFileDurable } from '../core/durable.js';

export function defaultDataDir(): string {
  return process.env.MIC_DATA_DIR || path.join(os.homedir(), '.mic');
}

/** The key that makes file handles unforgeable; created once, kept for the data dir's life. */
export function handleSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'secret');
  try {
    const s = fs.readFileSync(file);
    if (s.length >= 32) return s;
  } catch { /* first use */ }
  const s = randomBytes(32);
  try {
    writeFileDurable(file, s);
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
