// The data directory: objects (the embedded store), session write-back areas, the handle secret.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { openBackend, parseBytes, type BackendOptions } from '../store/open-backend.js';
import { Catalog } from '../session/catalog.js';
import { readOrCreatePrivate } from '../util/private-file.js';

export { defaultDataDir } from './default-data-dir.js';

/** Bytes of the handle secret (HMAC-SHA256 key). */
export const SECRET_SIZE = 32;

/**
 * The key that makes file handles unforgeable; created once, kept for the data dir's life.
 * A secret shorter than SECRET_SIZE (a torn first write) is never used: it is replaced
 * atomically, which makes every handle made with it stale (they were forgeable).
 */
export function handleSecret(dataDir: string, log?: Logger): Buffer {
  return readOrCreatePrivate(
    path.join(dataDir, 'secret'),
    (b) => b.length >= SECRET_SIZE,
    () => randomBytes(SECRET_SIZE),
    (found) => {
      log?.warn({ bytes: found.length, want: SECRET_SIZE }, 'handle secret was torn (short write): replaced; clients must mount again');
    },
  );
}

/**
 * The catalog over the configured backend: <dataDir>/objects by default, S3 (behind a disk cache in
 * <dataDir>/cache) when MIC_S3_BUCKET or opts.s3Bucket is set. With S3, the first operation checks
 * bucket access and conditional writes and fails with a one-line reason; call checkBackend(catalog.backend)
 * to do that eagerly.
 */
export function openCatalog(dataDir: string, opts?: BackendOptions): Catalog {
  privateDataDir(dataDir);
  // MIC_RAM_CACHE_BYTES: each project's RAM cache of blob content and chunks (default 256 MiB)
  const ram = process.env.MIC_RAM_CACHE_BYTES;
  return new Catalog(openBackend(dataDir, opts), ram ? parseBytes(ram) : undefined);
}

/**
 * Creates the data directory, or closes an existing one, to its owner (0700): objects, journals,
 * file contents and the handle secret are nobody else's business whatever the umask (issue 8
 * item 18). Files inside get 0600 from the umask the CLI sets (src/cli/main.ts).
 */
export function privateDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if ((fs.statSync(dataDir).mode & 0o077) !== 0) fs.chmodSync(dataDir, 0o700);
}
