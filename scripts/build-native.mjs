// Builds native/ (the sendfile addon, rpc/file-slice.ts) with node-gyp and copies it to dist/native/, where the
// built daemon loads it. Part of `npm run build`. node-gyp is npm's own copy and is pointed at Node's installed
// headers (--nodedir: /usr for Debian's nodejs, else the prefix of this node), so it downloads nothing. Skipped when
// the addon is newer than its sources. When the build fails (no compiler, not Linux), it says so and the daemon
// falls back to pread and write (MIC_SENDFILE=0 does the same on purpose); test/nfs/read-sendfile.test.ts fails
// then, so CI cannot lose the addon unnoticed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(repo, 'native');
const built = path.join(dir, 'build/Release/mic_sendfile.node');
const target = path.join(repo, 'dist/native/mic_sendfile.node');
const say = (m) => process.stderr.write(`build-native: ${m}\n`);

const mtime = (f) => {
  try {
    return fs.statSync(f).mtimeMs;
  } catch {
    return -1;
  }
};

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((c) => c && fs.existsSync(c));
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  for (const d of [prefix, '/usr', '/usr/local']) if (fs.existsSync(path.join(d, 'include/node/node_api.h'))) return d;
  return undefined;
}

if (process.platform !== 'linux') {
  say('not Linux: no sendfile addon');
  process.exit(0);
}
const newest = Math.max(mtime(path.join(dir, 'sendfile.c')), mtime(path.join(dir, 'binding.gyp')));
if (mtime(built) < newest) {
  const gyp = nodeGyp();
  const nodedir = nodeDir();
  if (!gyp || !nodedir) {
    say(`cannot build the sendfile addon (node-gyp: ${gyp ?? 'not found'}, Node headers: ${nodedir ?? 'not found'})`);
    process.exit(0);
  }
  try {
    execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch {
    say('the sendfile addon did not build: READ replies go by pread and write');
    process.exit(0);
  }
}
if (mtime(target) < mtime(built)) {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(built, target);
}
