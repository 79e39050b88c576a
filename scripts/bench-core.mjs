// node scripts/bench-core.mjs [FILES] [BUILD_ROOT]: server CPU per file of the session core and SessionFs,
// in-process, without RPC or network (whose kernel time swamps these on a shared machine): CREATE alone
// (as nfs-bench's create rows), then per file an untar's calls, CREATE (unchecked), SETATTR (mode), WRITE
// 2 KiB FILE_SYNC, then REMOVE (of the files with data), on /dev/shm as
// `npm run bench` and `npm run bench:work` run mic-fs. Prints the minimum over 7 rounds (after a warm-up
// round) of process CPU time (user + system) per file, as JSON. BUILD_ROOT (default: this checkout) is a
// built checkout whose dist/ is measured, for before/after comparisons (docs/perf-notes.md).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const N = Number(process.argv[2] ?? 3000);
const root = path.resolve(process.argv[3] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const R = path.join(root, 'dist', 'src');
const { LocalBackend, ObjectStore } = await import(`${R}/store/index.js`);
const { SessionFs } = await import(`${R}/fs/session-fs.js`);
const { HandleCodec } = await import(`${R}/fs/handles.js`);
const { importTree } = await import(`${R}/session/project.js`);

const tmp = fs.mkdtempSync(
  fs.existsSync('/dev/shm') ? '/dev/shm/mic-bench-core-' : path.join(process.env.TMPDIR ?? '/tmp', 'mic-bench-core-'),
);
try {
  fs.mkdirSync(path.join(tmp, 'src'));
  fs.writeFileSync(path.join(tmp, 'src/a.txt'), 'a');
  const store = new ObjectStore(new LocalBackend(path.join(tmp, 'objects'), { fsync: false }), 'bench/core');
  const base = await importTree(store, path.join(tmp, 'src'));
  const sfs = await SessionFs.open({
    fsid: 7n,
    dir: path.join(tmp, 'session'),
    source: store,
    handles: new HandleCodec(Buffer.alloc(32, 7)),
    base: { ...base, time: { sec: 1, nsec: 0 } },
    owner: { uid: 0, gid: 0 },
    writeVerifier: Buffer.alloc(8, 1),
    log: pino({ level: 'silent' }),
  });
  const cred = { uid: 1000, gid: 1000, gids: [] };
  const dir = sfs.rootHandle();
  await sfs.setattr(dir, { mode: 0o777 }, null, { uid: 0, gid: 0, gids: [] });
  const data = Buffer.alloc(2048, 120);
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  let create = Infinity,
    untar = Infinity,
    remove = Infinity;
  for (let round = 0; round < 8; round++) {
    let t = cpu();
    for (let i = 0; i < N; i++) await sfs.create(dir, `c${round}-f${i}`, { kind: 'unchecked', attrs: {} }, cred);
    const created = (cpu() - t) / N;
    for (let i = 0; i < N; i++) await sfs.remove(dir, `c${round}-f${i}`, cred);
    t = cpu();
    for (let i = 0; i < N; i++) {
      const c = await sfs.create(dir, `r${round}-f${i}`, { kind: 'unchecked', attrs: {} }, cred);
      await sfs.setattr(c.fh, { mode: 0o644 }, null, cred);
      await sfs.write(c.fh, 0, data, 2 /* FILE_SYNC */, cred);
    }
    const made = (cpu() - t) / N;
    t = cpu();
    for (let i = 0; i < N; i++) await sfs.remove(dir, `r${round}-f${i}`, cred);
    const removed = (cpu() - t) / N;
    if (round === 0) continue; // warm-up
    create = Math.min(create, created);
    untar = Math.min(untar, made);
    remove = Math.min(remove, removed);
  }
  sfs.close();
  console.log(
    JSON.stringify({
      build: root,
      files: N,
      create_cpu_us: +create.toFixed(1),
      create_setattr_write_cpu_us: +untar.toFixed(1),
      remove_cpu_us: +remove.toFixed(1),
    }),
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
