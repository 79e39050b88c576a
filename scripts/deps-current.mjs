#!/usr/bin/env node
// node scripts/deps-current.mjs [DIR]: exit 0 when DIR/node_modules (default: the repository's) holds what
// DIR/package-lock.json says, 1 when `npm ci` should run (no node_modules, or the lock's content differs).
// It compares the lock with npm's own record of what it installed, node_modules/.package-lock.json (written
// by every npm ci / npm install): every package's version and integrity. An optional package the lock names
// but npm left out (another platform's binary, e.g. @esbuild/darwin-arm64) does not count. The lock's mtime
// is not looked at: a checkout or a merge that touched the file without changing it costs no reinstall.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = resolve(process.argv[2] ?? join(fileURLToPath(import.meta.url), '..', '..'));
const read = (f) => {
  try {
    return JSON.parse(readFileSync(join(dir, f), 'utf8'));
  } catch {
    return null;
  }
};
const lock = read('package-lock.json');
const installed = read('node_modules/.package-lock.json');
const why = (() => {
  if (!lock?.packages) return 'package-lock.json unreadable or of an old format';
  if (!installed?.packages) return 'no node_modules/.package-lock.json: nothing installed by npm';
  const want = Object.entries(lock.packages).filter(([k]) => k !== '');
  for (const [k, p] of want) {
    const got = installed.packages[k];
    if (!got) {
      if (p.optional) continue;
      return `${k} is not installed`;
    }
    if (got.version !== p.version || (p.integrity && got.integrity !== p.integrity))
      return `${k} is ${got.version}, the lock says ${p.version}`;
  }
  for (const k of Object.keys(installed.packages)) if (!(k in lock.packages)) return `${k} is installed, the lock does not name it`;
  return null;
})();
if (why) {
  console.error(`deps-current: ${why}`);
  process.exit(1);
}
