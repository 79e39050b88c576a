#!/usr/bin/env node
// Session benchmarks (not tests). Prints JSON.
//
//   node scripts/bench-sessions.mjs [--sizes 1000,10000,100000] [--no-git] [--no-fsync] [--keep]
//
// 1. Session start on heads of 1k, 10k and 100k files: the record alone (startSession) and the record plus
//    the session's filesystem opened, ready to mount; compared in the same run with `git worktree add` on
//    a git repository of the same files.
// 2. Landing 10 changed files (in 10 different directories) into each head: when the head has not moved
//    (the sealed tree is the new head) and when another session landed 10 other files first (a real
//    three-way merge). The cost follows the directories touched, not the size of the head.
//
// Heads are generated directly through ObjectStore (directories of 1000 files; a few hundred distinct
// contents, so the blob count stays small); the git repositories get the same paths and contents.
// The local store runs with its default durability (fsync). Requires `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const dist = new URL('../dist/src/', import.meta.url);
const { openCatalog } = await import(new URL('daemon/data-dir.js', dist));
const { initProject } = await import(new URL('session/project.js', dist));
const { startSession } = await import(new URL('session/start.js', dist));
const { DirectHost } = await import(new URL('session/host.js', dist));
const { landSession } = await import(new URL('session/land.js', dist));
const { applyFiles } = await import(new URL('session/apply.js', dist));
const { files: parseFiles } = await import(new URL('session/input.js', dist));
const { Catalog } = await import(new URL('session/catalog.js', dist));
const { LocalBackend } = await import(new URL('store/index.js', dist));

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizes = arg('--sizes', '1000,10000,100000').split(',').map(Number);
const withGit = !args.includes('--no-git');
const keep = args.includes('--keep');
const fsync = !args.includes('--no-fsync');
const PER_DIR = 1000;
const DISTINCT = 256;

const root = mkdtempSync(join(tmpdir(), 'mic-bench-'));
const log = (...m) => process.stderr.write(`${m.join(' ')}\n`);

const contentOf = (i) => `file content ${i % DISTINCT}\n${'x'.repeat(i % DISTINCT)}\n`;
const pathOf = (i) => [`d${String(Math.floor(i / PER_DIR)).padStart(4, '0')}`, `f${String(i % PER_DIR).padStart(4, '0')}.txt`];

/** A head of n files, written straight into the store. */
async function makeHead(catalog, project, n) {
  const store = catalog.store(project);
  const blobs = [];
  for (let k = 0; k < DISTINCT; k++) blobs.push(await store.putBlob(Buffer.from(contentOf(k))));
  let ino = 2;
  const dirs = [];
  const ndirs = Math.ceil(n / PER_DIR);
  for (let d = 0; d < ndirs; d++) {
    const entries = [];
    const dirIno = ino++;
    for (let i = d * PER_DIR; i < Math.min(n, (d + 1) * PER_DIR); i++) {
      const c = contentOf(i);
      entries.push({
        name: pathOf(i)[1],
        kind: 'file',
        mode: 0o644,
        ino: ino++,
        size: Buffer.byteLength(c),
        mtime: [1700000000, 0],
        hash: blobs[i % DISTINCT],
      });
    }
    dirs.push({
      name: pathOf(d * PER_DIR)[0],
      kind: 'dir',
      mode: 0o755,
      ino: dirIno,
      size: 0,
      mtime: [1700000000, 0],
      hash: await store.writeDir(entries),
      dirs: 0,
    });
  }
  const tree = await store.writeDir(dirs);
  return initProject(store, tree, ino, `bench head of ${n} files`);
}

function makeGitRepo(dir, n) {
  mkdirSync(dir, { recursive: true });
  const git = (...a) => execFileSync('git', a, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'bench@example.com');
  git('config', 'user.name', 'bench');
  for (let d = 0; d < Math.ceil(n / PER_DIR); d++) mkdirSync(join(dir, pathOf(d * PER_DIR)[0]), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, ...pathOf(i)), contentOf(i));
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  return git;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const round = (x) => Math.round(x * 1000) / 1000;

const results = { store: `local (fsync ${fsync ? 'on' : 'off'})`, per_dir: PER_DIR, start: [], landing: [] };

for (const n of sizes) {
  log(`head of ${n} files...`);
  const dataDir = join(root, `data-${n}`);
  mkdirSync(dataDir, { recursive: true });
  const catalog = fsync ? openCatalog(dataDir) : new Catalog(new LocalBackend(join(dataDir, 'objects'), { fsync: false }));
  const project = `bench/n${n}`;
  await makeHead(catalog, project, n);
  const host = new DirectHost(catalog, dataDir, randomBytes(32));
  const recordMs = [];
  const readyMs = [];
  for (let k = 0; k < 21; k++) {
    const t0 = performance.now();
    const r = await startSession(catalog, { project, goal: `bench ${k}` });
    const t1 = performance.now();
    await host.open(r);
    const t2 = performance.now();
    recordMs.push(t1 - t0);
    readyMs.push(t2 - t0);
    host.close(r.session_id);
  }
  const row = { files: n, session_start_ms: round(median(recordMs)), session_start_and_open_ms: round(median(readyMs)) };
  if (withGit) {
    log(`git repository of ${n} files...`);
    const repo = join(root, `git-${n}`);
    const git = makeGitRepo(repo, n);
    const gitMs = [];
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      git('worktree', 'add', '-q', '-b', `bench-${k}`, join(root, `wt-${n}-${k}`));
      gitMs.push(performance.now() - t0);
    }
    row.git_worktree_add_ms = round(median(gitMs));
    row.speedup = Math.round(row.git_worktree_add_ms / row.session_start_and_open_ms);
  }
  results.start.push(row);
  log(JSON.stringify(row));

  {
    log(`landing 10 files into the ${n}-file head...`);
    const ctx = { catalog, host, dataDir };
    const ndirs = Math.ceil(n / PER_DIR);
    // file j goes to directory j (mod the number of directories): 10 directories touched when there are 10
    const changeSet = (offset) =>
      parseFiles(
        Array.from({ length: 10 }, (_, j) => {
          const i = ((j % ndirs) * PER_DIR + ((offset + j * 37) % PER_DIR)) % n;
          return { path: pathOf(i).join('/'), change_type: 'modified', content: `changed ${offset} ${j}\n` };
        }),
      );
    const land = async (offset, moveHeadFirst) => {
      const r = await startSession(catalog, { project, goal: `land ${offset}` });
      await applyFiles(await host.open(r), r.owner, changeSet(offset));
      if (moveHeadFirst) {
        const other = await startSession(catalog, { project, goal: `other ${offset}` });
        await applyFiles(await host.open(other), other.owner, changeSet(offset + 500));
        const o = await landSession(ctx, other, 'other');
        if (!o.ok) throw new Error('unexpected conflict');
      }
      const t0 = performance.now();
      const out = await landSession(ctx, r, 'bench landing');
      const ms = performance.now() - t0;
      if (!out.ok) throw new Error('unexpected conflict');
      if (out.changes.length !== 10) throw new Error(`expected 10 changes, got ${out.changes.length}`);
      phases.push(out.timings);
      return ms;
    };
    const fast = [],
      merged = [];
    const phases = [];
    for (let k = 0; k < 7; k++) fast.push(await land(100 + k * 10, false));
    for (let k = 0; k < 7; k++) merged.push(await land(300 + k * 10, true));
    results.landing.push({
      head_files: n,
      directories_touched: Math.min(10, ndirs),
      changed_files: 10,
      land_ms_head_unmoved: round(median(fast)),
      land_ms_after_another_landing: round(median(merged)),
      samples: { head_unmoved: fast.map(round), after_another_landing: merged.map(round) },
      phase_medians_ms: Object.fromEntries(Object.keys(phases[0]).map((k) => [k, round(median(phases.map((p) => p[k])))])),
    });
    log(JSON.stringify(results.landing.at(-1)));
  }
  await host.closeAll();
}

process.stdout.write(JSON.stringify(results, null, 2) + '\n');
if (!keep) rmSync(root, { recursive: true, force: true });
