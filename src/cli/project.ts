import { Command } from 'commander';
import { dataDirOf, out, printJson } from './common.js';

// the store loads only when a project command runs, not for help or other commands
const heavy = () => Promise.all([import('../daemon/data-dir.js'), import('../session/project.js'), import('../store/keys.js')]);

export function projectCommand(): Command {
  const cmd = new Command('project').description('projects and their heads');
  cmd
    .command('init <project>')
    .description('import a directory as the first head of org/name')
    .requiredOption('--from <dir>', 'directory to import')
    .option('--json', 'print JSON')
    .action(async (project: string, o, c: Command) => {
      const [{ openCatalog }, { importTree, initProject }, { validateProject }] = await heavy();
      validateProject(project);
      const store = openCatalog(dataDirOf(c)).store(project);
      if (await store.getHead()) throw new Error(`project ${project} already exists`);
      const bar = progressBar();
      const { tree, nextIno, skipped } = await importTree(store, o.from, bar.update);
      bar.done();
      for (const p of skipped)
        process.stderr.write(`skipped ${p} (git metadata is not project content; mic project import-git brings the history)\n`);
      const head = await initProject(store, tree, nextIno, `import ${o.from}`);
      if (o.json) printJson({ project: { name: project, head, tree, files: nextIno - 2 }, skipped });
      else out(`project ${project}: head ${head.slice(0, 12)} tree ${tree.slice(0, 12)}`);
    });
  cmd
    .command('head <project>')
    .description('show the current head')
    .action(async (project: string, _o, c: Command) => {
      const [{ openCatalog }] = await heavy();
      const head = await openCatalog(dataDirOf(c)).store(project).getHead();
      if (!head) throw new Error(`project ${project} has no head`);
      printJson({ head: head.hash, ...head.record });
    });
  return cmd;
}

/** A progress line on stderr for large imports (only on a terminal). */
function progressBar(): { update: (p: { files: number; bytes: number }) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const t = Date.now();
      if (!tty || t - last < 100) return;
      last = t;
      shown = true;
      const mb = (p.bytes / 1048576).toFixed(1);
      const spin = '|/-\\'[Math.floor(t / 100) % 4];
      process.stderr.write(`\r${spin} importing: ${p.files} files, ${mb} MiB`);
    },
    done() {
      if (shown) process.stderr.write('\n');
    },
  };
}
