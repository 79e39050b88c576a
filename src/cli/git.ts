// mic project import-git / export-git: history in from a git repository, heads out as commits.
import { Command } from 'commander';
import { dataDirOf, out, printJson } from './common.js';
import { progress } from './progress.js';

// git import/export and the store load only when one of these commands runs
const heavy = () =>
  Promise.all([import('../daemon/data-dir.js'), import('../git/import.js'), import('../git/export.js'), import('../audit/audit-log.js')]);
import { localActor } from './identity.js';

export function importGitCommand(): Command {
  return new Command('import-git')
    .description("import a git repository's history: one landed session and head per commit")
    .argument('<project>', 'org/name')
    .argument('<repo>', 'repository path, file:// URL, or a remote URL (cloned with --mirror first)')
    .option('--ref <ref>', 'branch or ref to import', 'HEAD')
    .option('--first-parent', 'import only the first-parent chain (merges then keep their other parents by id only)')
    .option('--onto-head', 'land the new commits on top of sessions landed since the last import')
    .option('--json', 'print JSON')
    .action(async (project: string, repo: string, o, c: Command) => {
      const [{ openCatalog }, { importGit }, , { AuditLog }] = await heavy();
      const catalog = openCatalog(dataDirOf(c));
      const bar = progress('import-git');
      const audit = new AuditLog(catalog.backend);
      const r = await importGit(catalog, project, repo, {
        ref: o.ref,
        firstParent: !!o.firstParent,
        ontoHead: !!o.ontoHead,
        onProgress: (p) => bar.update(p.done, p.total, p.phase),
      })
        .finally(() => bar.stop())
        .catch(async (e: Error) => {
          await audit
            .append({
              actor: localActor(),
              action: 'git.import',
              target: `project:${project}`,
              result: 'error: git',
              detail: { repo, message: e.message.slice(0, 300) },
            })
            .catch(() => {});
          throw e;
        });
      await audit.append({
        actor: localActor(),
        action: 'git.import',
        target: `project:${project}`,
        result: r.conflicts.length ? 'error: conflict' : 'ok',
        detail: { repo, imported: r.imported, head: r.head },
      });
      if (o.json) printJson(r);
      else {
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        out(
          `${project}: imported ${r.imported} commits (${r.known} already known) from ${r.ref} ${r.tip.slice(0, 12)}; head ${r.head?.slice(0, 12) ?? '(none)'}`,
        );
      }
      if (r.conflicts.length) {
        for (const x of r.conflicts) process.stderr.write(`conflict: ${x.path} (${x.kind}) in commit ${x.commit.slice(0, 12)}\n`);
        throw new Error(`${r.conflicts.length} conflicts landing the new commits onto the head; nothing landed`);
      }
    });
}

export function exportGitCommand(): Command {
  return new Command('export-git')
    .description("write the project's heads not yet exported as commits of a git repository")
    .argument('<project>', 'org/name')
    .argument('<repo-dir>', 'git repository (created when missing)')
    .option('--branch <branch>', 'branch to move to the project head (default mic/<name>)')
    .option('--after-land', 'keep running: export again after each landing (the head is checked every --interval seconds)')
    .option('--interval <s>', 'with --after-land: seconds between checks of the head', '2')
    .option('--json', 'print JSON')
    .action(async (project: string, repoDir: string, o, c: Command) => {
      const [{ openCatalog }, , { exportGit }, { AuditLog }] = await heavy();
      const catalog = openCatalog(dataDirOf(c));
      const once = async () => {
        const bar = progress('export-git');
        const r = await exportGit(catalog, project, repoDir, {
          branch: o.branch,
          onProgress: (p) => bar.update(p.done, p.total),
        }).finally(() => bar.stop());
        await new AuditLog(catalog.backend).append({
          actor: localActor(),
          action: 'git.export',
          target: `project:${project}`,
          result: 'ok',
          detail: { repo: repoDir, exported: r.exported, commit: r.commit },
        });
        if (o.json) out(JSON.stringify(r));
        else {
          for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
          out(`${project}: exported ${r.exported} heads (${r.reused} already there) to ${r.branch} ${r.commit?.slice(0, 12) ?? ''}`);
        }
      };
      const store = catalog.store(project);
      let last = (await store.getHead())?.hash; // read first: a landing during the export is exported next
      await once();
      if (!o.afterLand) return;
      const ms = Math.max(0.1, Number(o.interval) || 2) * 1000;
      for (;;) {
        await new Promise((r) => setTimeout(r, ms));
        const h = (await store.getHead())?.hash;
        if (h === last) continue;
        last = h;
        await once().catch((e: Error) => process.stderr.write(`mic: export-git: ${e.message}\n`));
      }
    });
}
