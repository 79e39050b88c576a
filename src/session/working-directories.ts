// Working directories: a project may claim absolute directory paths (its checkouts on people's machines,
// an agent's workspace). A session request that names a workingDirectory and no project starts a session of
// the project claiming that directory or the nearest directory above it. The claims live beside the session
// index in the backend (index/workdirs/<sha256 of the path>), so a lookup reads one key per path component
// and never lists projects.
import { posix } from 'node:path';
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex } from '@noble/hashes/utils';
import type { Catalog } from './catalog.js';
import { InvalidInputError, InvalidStateError } from './errors.js';

const MAX_DIRS = 100;
const MAX_LEN = 4096;

interface Claim {
  project: string;
  dir: string;
}

const keyOf = (dir: string) => `index/workdirs/${bytesToHex(sha256(new TextEncoder().encode(dir)))}`;

/** An absolute path, normalised (no trailing slash, no . or .. parts); 400 naming the field otherwise. */
export function normalDirectory(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v.startsWith('/') || v.length > MAX_LEN || v.includes('\0'))
    throw new InvalidInputError(field, `must be an absolute directory path of at most ${MAX_LEN} characters`);
  const n = posix.normalize(v);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

async function readClaim(catalog: Catalog, dir: string): Promise<Claim | null> {
  const raw = await catalog.backend.get(keyOf(dir));
  return raw ? (JSON.parse(raw.toString('utf8')) as Claim) : null;
}

/** Replaces a project's claimed directories: new ones are claimed (409 when another project holds one),
 *  dropped ones released. Returns the normalised list. */
export async function claimDirectories(catalog: Catalog, project: string, current: string[], raw: unknown): Promise<string[]> {
  if (!Array.isArray(raw) || raw.length > MAX_DIRS)
    throw new InvalidInputError('working_directories', `must be a list of at most ${MAX_DIRS} absolute paths`);
  const next = [...new Set(raw.map((d, i) => normalDirectory(d, `working_directories[${i}]`)))];
  for (const dir of next) {
    const held = await readClaim(catalog, dir);
    if (held && held.project !== project)
      throw new InvalidStateError(`${dir} is the working directory of project ${held.project}`, {
        code: 'working_directory_claimed',
        field: 'working_directories',
      });
  }
  for (const dir of next) await catalog.backend.put(keyOf(dir), Buffer.from(JSON.stringify({ project, dir } satisfies Claim)));
  for (const dir of current) {
    if (next.includes(dir)) continue;
    const held = await readClaim(catalog, dir);
    if (held?.project === project) await catalog.backend.delete(keyOf(dir));
  }
  return next;
}

/** The project claiming dir or the nearest directory above it; 400 naming the field when none does. */
export async function projectOfDirectory(catalog: Catalog, raw: unknown, field: string): Promise<string> {
  let dir = normalDirectory(raw, field);
  for (;;) {
    const held = await readClaim(catalog, dir);
    if (held) return held.project;
    if (dir === '/') break;
    dir = posix.dirname(dir);
  }
  throw new InvalidInputError(
    field,
    `${normalDirectory(raw, field)} is not in the working directory of any project (a project claims one with ` +
      '`mic session types --project org/name --working-dir DIR`, or give project)',
  );
}

/** A start or create body naming `workingDirectory` (or `working_directory`): the project is the one
 *  claiming it unless the body names one, the goal defaults to "Work in <dir>", and the directory is kept
 *  in the session's metadata (working_directory). Other bodies are returned as they are. */
export async function withWorkingDirectory(catalog: Catalog, raw: unknown): Promise<unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const { workingDirectory, working_directory, ...b } = raw as Record<string, unknown>;
  if (workingDirectory === undefined && working_directory === undefined) return raw;
  if (workingDirectory !== undefined && working_directory !== undefined && workingDirectory !== working_directory)
    throw new InvalidInputError('working_directory', 'differs from workingDirectory; give one of them');
  const field = workingDirectory !== undefined ? 'workingDirectory' : 'working_directory';
  const dir = normalDirectory(workingDirectory ?? working_directory, field);
  if (b.project === undefined && b.project_id === undefined) b.project = await projectOfDirectory(catalog, dir, field);
  if (b.goal === undefined) b.goal = `Work in ${dir}`;
  const meta = b.metadata;
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta)))
    throw new InvalidInputError('metadata', 'must be a JSON object');
  b.metadata = { ...(meta as Record<string, unknown> | undefined), working_directory: dir };
  return b;
}
