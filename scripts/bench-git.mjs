#!/usr/bin/env node
// import-git / export-git benchmarks (not tests). Prints JSON.
//
//   node scripts/bench-git.mjs [--only lua|generated] [--commits 10000] [--files 2000]
//   node scripts/bench-git.mjs --generate DIR [--commits N] [--files N]   (only writes the generated
//                                                                          history to DIR, for profiling)
//
// Two histories: ../shared/fixtures/lua.bundle (Lua's repository, cloned first) and a generated one
// (about 2k files, 10k commits, each changing a few files). For each, in the same run:
//   baseline  `git fast-export --reencode=no HEAD | git fast-import` into an empty repository
//             (timed twice, before and after mic; the mean is the baseline)
//   import    `mic project import-git` of the same history into an empty data directory
//   export    `mic project export-git` of the imported project into an empty repository
// and reports seconds, ratios to the baseline (<= 1.0 is the target), the same for CPU seconds (user +
// system of every process involved: steadier than wall time on a shared machine), commits/s, whether
// export gave back the original commit ids, the number of files mic stored, and bytes: mic's objects
// against git's pack of the source (size-pack), and the pack export-git wrote against fast-import's.
// Requires `npm run build`. Temporary files under $BENCH_GIT_DIR (default: the OS temp dir).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
const BUNDLE = join(dirname(REPO), 'shared', 'fixtures', 'lua.bundle');
const args = process.argv.slice(2);
const arg = (n, d) => {
  const i = args.indexOf(n);
  return i >= 0 ? args[i + 1] : d;
};
const only = arg('--only', null);
const nCommits = Number(arg('--commits', '10000'));
const nFiles = Number(arg('--files', '2000'));
const root = mkdtempSync(join(process.env.BENCH_GIT_DIR || tmpdir(), 'mic-bench-git-'));
const log = (...m) => process.stderr.write(`bench-git: ${m.join(' ')}\n`);
const ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };

const git = (cwd, ...a) =>
  execFileSync('git', a, { cwd, env: ENV, maxBuffer: 1 << 30 })
    .toString()
    .trim();
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
/** Runs a shell command; wall seconds and CPU seconds (user + system of every process it ran, from
 *  bash's `times`): on a shared machine the CPU time is the steadier measure. stdout goes to outFile. */
const run = (cmd, outFile = '/dev/null') => {
  const t = performance.now();
  const r = spawnSync('bash', ['-c', `{ ${cmd} ; } >${q(outFile)} || exit $?; times`], { env: ENV, maxBuffer: 1 << 28 });
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  const secs = [
    ...r.stdout
      .toString()
      .split('\n')[1]
      .matchAll(/(\d+)m([\d.]+)s/g),
  ].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { s, cpu: secs[0] + secs[1] };
};
const mic = (outFile, ...a) => {
  const t = run(`${q(process.execPath)} ${q(CLI)} ${a.map(q).join(' ')}`, outFile);
  return { ...t, out: JSON.parse(readFileSync(outFile, 'utf8')) };
};
function du(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return n;
}
function countFiles(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}
const sizePack = (dir) => Number(/size-pack: (\d+)/.exec(git(dir, 'count-objects', '-v'))[1]) * 1024;

/** A history of nFiles files in 40 directories; every commit appends to 2 files, every 50th adds one. */
function generate(dir) {
  git(root, 'init', '-q', '--bare', dir);
  const parts = [];
  let t = 1_600_000_000;
  const content = new Map();
  const file = (i) => `d${String(i % 40).padStart(2, '0')}/f${String(i).padStart(5, '0')}.c`;
  const commit = (msg, changes) => {
    t += 60;
    parts.push(`commit refs/heads/main\ncommitter Gen <gen@example.com> ${t} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}\n`);
    for (const [p, c] of changes) parts.push(`M 100644 inline ${p}\ndata ${Buffer.byteLength(c)}\n${c}\n`);
    parts.push('\n');
  };
  const init = [];
  for (let i = 0; i < nFiles; i++) {
    const c = `/* file ${i} */\nint f${i}(void) { return ${i}; }\n`;
    content.set(i, c);
    init.push([file(i), c]);
  }
  commit('initial import', init);
  let files = nFiles;
  for (let k = 1; k < nCommits; k++) {
    const ch = [];
    for (let j = 0; j < 2; j++) {
      const i = (k * 7919 + j * 104729) % files;
      const c = content.get(i) + `int g${k}_${j} = ${k};\n`;
      content.set(i, c.length > 6000 ? `/* file ${i} rewritten at ${k} */\n` : c);
      ch.push([file(i), content.get(i)]);
    }
    if (k % 50 === 0) {
      const c = `/* new file ${files} */\n`;
      content.set(files, c);
      ch.push([file(files), c]);
      files++;
    }
    commit(`change ${k}\n\nTouches ${ch.map((x) => x[0]).join(', ')}.`, ch);
  }
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, env: ENV, input: parts.join(''), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`generating: ${r.stderr}`);
  git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  git(dir, 'gc', '-q');
}

function bench(name, src) {
  const commits = Number(git(src, 'rev-list', '--count', 'HEAD'));
  const baseline = () => {
    const dst = join(root, `${name}-baseline`);
    rmSync(dst, { recursive: true, force: true });
    git(root, 'init', '-q', '--bare', dst);
    const t = run(`git -C ${q(src)} fast-export --reencode=no --show-original-ids HEAD | git -C ${q(dst)} fast-import --quiet`);
    const bytes = sizePack(dst);
    rmSync(dst, { recursive: true, force: true });
    return { ...t, bytes };
  };
  log(name, `${commits} commits: baseline`);
  const b1 = baseline();
  const data = join(root, `${name}-data`);
  log(name, 'mic import-git');
  const imp = mic(join(root, 'import.json'), 'project', 'import-git', `bench/${name}`, src, '--data-dir', data, '--json');
  const stored = du(join(data, 'objects'));
  const files = countFiles(join(data, 'objects'));
  const out = join(root, `${name}-export`);
  log(name, 'mic export-git');
  const exp = mic(
    join(root, 'export.json'),
    'project',
    'export-git',
    `bench/${name}`,
    out,
    '--branch',
    'main',
    '--data-dir',
    data,
    '--json',
  );
  const reproduced = exp.out.commit === git(src, 'rev-parse', 'HEAD');
  const exportPack = sizePack(out);
  log(name, 'baseline again');
  const b2 = baseline();
  const base = (b1.s + b2.s) / 2;
  const baseCpu = (b1.cpu + b2.cpu) / 2;
  rmSync(data, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
  const r3 = (x) => Math.round(x * 1000) / 1000;
  return {
    commits,
    imported: imp.out.imported,
    baseline_s: [r3(b1.s), r3(b2.s)],
    import_s: r3(imp.s),
    export_s: r3(exp.s),
    import_vs_git: r3(imp.s / base),
    export_vs_git: r3(exp.s / base),
    // CPU seconds (user + system, every process: mic, its worker and git children; git's two processes)
    baseline_cpu_s: [r3(b1.cpu), r3(b2.cpu)],
    import_cpu_s: r3(imp.cpu),
    export_cpu_s: r3(exp.cpu),
    import_cpu_vs_git: r3(imp.cpu / baseCpu),
    export_cpu_vs_git: r3(exp.cpu / baseCpu),
    import_commits_per_s: Math.round(commits / imp.s),
    export_commits_per_s: Math.round(commits / exp.s),
    git_commits_per_s: Math.round(commits / base),
    export_reproduces_ids: reproduced,
    export_warnings: exp.out.warnings.length,
    mic_files: files,
    bytes: {
      mic_objects: stored,
      git_source_pack: sizePack(src),
      git_fast_import_pack: b1.bytes,
      mic_export_pack: exportPack,
      mic_vs_source_pack: r3(stored / sizePack(src)),
    },
  };
}

if (arg('--generate', null)) {
  try {
    generate(arg('--generate'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  process.exit(0);
}

const result = { git: git(root, '--version') };
try {
  if (!only || only === 'lua') {
    if (!existsSync(BUNDLE)) log(`no ${BUNDLE}: lua skipped`);
    else {
      const lua = join(root, 'lua.git');
      git(root, 'clone', '-q', '--bare', BUNDLE, lua);
      result.lua = bench('lua', lua);
    }
  }
  if (!only || only === 'generated') {
    const gen = join(root, 'generated.git');
    log(`generating ${nFiles} files, ${nCommits} commits`);
    generate(gen);
    result.generated = bench('generated', gen);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
