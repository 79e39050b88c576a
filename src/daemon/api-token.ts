// The API's bearer token, kept in a 0600 file: <dataDir>/api-token by default. `mic serve` creates it on
// first start (unless given a token or --no-api-token), and the CLI reads it by itself, so the token never
// has to appear on a command line (where `ps` shows it to every user).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const API_TOKEN_FILE = 'api-token';
/** A token shorter than this in a file is refused (a torn or hand-edited file). */
const MIN_TOKEN_CHARS = 16;

export function defaultApiTokenPath(dataDir: string): string { return path.join(dataDir, API_TOKEN_FILE); }

/** The token in file, or null when the file does not exist. Throws on a file too short to be a token. */
export function readApiToken(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_CHARS) throw new Error(`${file}: not an API token (fewer than ${MIN_TOKEN_CHARS} characters); remove it to have a new one made`);
  return token;
}

/**
 * The token in file, created first when missing: written in full to a temporary 0600 file, fsynced, then
 * linked into place (link fails if another process got there first, whose token is then used), so a
 * crash never leaves a torn token behind. An existing file readable by others is made 0600.
 */
export function ensureApiToken(file: string): string {
  const have = readApiToken(file);
  if (have !== null) {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    return have;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, token + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return readApiToken(file)!;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const dir = fs.openSync(path.dirname(file), 'r');
  try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
  return token;
}
