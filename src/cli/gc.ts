// mic gc: delete blobs and trees nothing references (src/store/collect-garbage.ts, src/session/run-gc.ts). When a daemon with
// an API serves the data dir, it runs there (POST /api/gc), so the daemon's stores forget what was deleted;
// otherwise on the store directly. The grace period keeps what a landing has just uploaded or reused.
import { Command } from 'commander';
import { dataDirOf, out, printJson } from './common.js';
import type { GcRun } from '../session/run-gc.js';
import { apiTokenFor, apiUrl, runningDaemon } from './backend.js';
import { createProgress } from './progress.js';

const PHASES = { list: 'listing objects', mark: 'marking what is referenced', sweep: 'deleting unreferenced objects' } as const;

export function gcCommand(): Command {
  return new Command('gc')
    .description('delete unreferenced blobs and trees older than the grace period')
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .option('--grace <duration>', 'keep unreferenced objects younger than this (e.g. 2h, 7d; at least 2h unless --force)', '24h')
    .option('--force', 'allow a grace period under 2h: only safe while no session is writing')
    .option('--project <org/name>', 'only this project (default: every project)')
    .option('--json', 'print the report as JSON')
    .option('-q, --quiet', 'no progress output (stderr)')
    .action(async (o, c: Command) => {
      // the collector, the store and the API client load only when gc runs
      const [{ openCatalog }, { checkGrace, runGc }, { MicClient }, { parseDuration }, { validateProject }] = await Promise.all([
        import('../daemon/data-dir.js'),
        import('../session/run-gc.js'),
        import('../api/client.js'),
        import('../store/collect-garbage.js'),
        import('../store/keys.js'),
      ]);
      const graceMs = parseDuration(o.grace);
      if (o.project) validateProject(o.project);
      try {
        checkGrace(graceMs, { dryRun: !!o.dryRun, force: !!o.force });
      } catch (e) {
        throw new Error((e as Error).message, { cause: e });
      }
      const dataDir = dataDirOf(c);
      const daemon = runningDaemon(dataDir);
      let run: GcRun;
      const progress = createProgress({ quiet: o.quiet });
      if (daemon && daemon.api_port !== null) {
        const api = new MicClient({ baseUrl: apiUrl(daemon), token: apiTokenFor(dataDir, daemon) });
        progress.phase('gc: running in the daemon', 0);
        run = await api.request<GcRun>('POST', '/api/gc', {
          grace: `${graceMs}ms`,
          dry_run: !!o.dryRun,
          force: !!o.force,
          project: o.project,
        });
      } else {
        let current = '';
        run = await runGc(openCatalog(dataDir).backend, {
          graceMs,
          dryRun: !!o.dryRun,
          projects: o.project ? [o.project] : undefined,
          onProgress: (project, phase, done, total) => {
            const label = `gc ${project}: ${PHASES[phase]}`;
            if (label !== current) {
              progress.phase(label, total);
              current = label;
            }
            progress.update(done);
          },
        });
      }
      progress.done();
      if (o.json) printJson(run);
      else printRun(run);
      if (run.totals.refused) process.exitCode = 1;
    });
}

function printRun(run: GcRun): void {
  const verb = run.dry_run ? 'would delete' : 'deleted';
  for (const p of run.projects) {
    out(
      `${p.project}: ${p.heads} heads, ${p.sessions} sessions; ${p.listed.objects} objects (${bytes(p.listed.bytes)}), ` +
        `${p.referenced.objects} referenced (${bytes(p.referenced.bytes)}), ${p.young.objects} unreferenced within the grace period, ` +
        `${verb} ${p.deleted.objects} (${bytes(p.deleted.bytes)})`,
    );
    if (run.dry_run) for (const d of p.objects) out(`  ${d.key}  ${bytes(d.size)}  ${age(d.age_ms)} old`);
    for (const k of p.missing) out(`  missing: ${k}`);
    if (p.refused) out(`  nothing deleted: ${p.refused}`);
  }
  const t = run.totals;
  if (run.projects.length !== 1)
    out(`total: ${verb} ${t.deleted.objects} of ${t.listed.objects} objects (${bytes(t.deleted.bytes)} of ${bytes(t.listed.bytes)})`);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function age(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
