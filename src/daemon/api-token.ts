// The API's bearer token, kept in a 0600 file: <dataDir>/api-token by default. `mic serve` creates it on
// first start (unless given a token or --no-api-token), and the CLI reads it by itself, so the token never
// has to appear on a command line (where `ps` shows it to every user).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readOrCreatePrivate } from '../util/private-file.js';

export const API_TOKEN_FILE = 'api-token';
/** A token shorter than this in a file is refused (a torn or hand-edited file). */
const MIN_TOKEN_CHARS = 16;

export function defaultApiTokenPath(dataDir: string): string {
  return path.join(dataDir, API_TOKEN_FILE);
}

const valid = (b: Buffer) => b.toString('utf8').trim().length >= MIN_TOKEN_CHARS;

/** The token in file, or null when the file does not exist. Throws on a file too short to be a token. */
export function readApiToken(file: string): string | null {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (!valid(b)) throw new Error(`${file}: not an API token (fewer than ${MIN_TOKEN_CHARS} characters); remove it to have a new one made`);
  return b.toString('utf8').trim();
}

/** The token in file, created first (atomically, 0600: util/private-file.ts) when missing or torn. An
 *  existing file readable by others is made 0600. */
export function ensureApiToken(file: string): string {
  const token = readOrCreatePrivate(file, valid, () => Buffer.from(randomBytes(32).toString('base64url') + '\n'))
    .toString('utf8')
    .trim();
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return token;
}
