// mic fsck: check the store (src/session/fsck.ts). Exit 0 when every head, tree, blob and chunk that
// anything references is present and matches its hash and no pack file is damaged; 1 with a line per
// problem otherwise.
import { Command } from 'commander';
import { dataDirOf, out, printJson } from './common.js';
import { openCatalog } from '../daemon/data-dir.js';
import { fsck } from '../session/fsck.js';
import { validateProject } from '../store/index.js';

export function fsckCommand(): Command {
  return new Command('fsck')
    .description('check every head, tree, blob and chunk: present, matching its hash, and every reference resolved')
    .option('--project <org/name>', 'only this project (default: every project)')
    .option('--json', 'print the report as JSON')
    .action(async (o, c: Command) => {
      if (o.project) validateProject(o.project);
      const catalog = openCatalog(dataDirOf(c));
      const run = await fsck(catalog.backend, { projects: o.project ? [o.project] : undefined });
      if (o.json) printJson(run);
      else {
        for (const p of run.projects) {
          out(
            `${p.project}: ${p.heads} heads, ${p.trees} trees, ${p.blobs} blobs, ${p.chunks} chunks, ${p.sessions} sessions: ` +
              (p.problems.length ? `${p.problems.length} problems` : 'ok'),
          );
          for (const x of p.problems) out(`  ${x.kind} ${x.key}: ${x.detail} (named by ${x.referenced_by})`);
        }
        if (!run.projects.length) out('no projects');
        for (const d of run.damaged_packs) {
          const what = d.whole ? 'left out, its objects unavailable' : `${d.objects.length} object(s) unavailable`;
          out(`damaged pack ${d.path}: ${d.reason} (${what})`);
        }
        for (const s of run.superseded_copies) out(`superseded: ${s.key} in ${s.path} is damaged, a newer copy serves it (not a problem)`);
      }
      if (run.problems) process.exitCode = 1;
    });
}
