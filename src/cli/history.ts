// mic log, mic show <head>, mic blame <path>: the project's history of heads.
import { Command } from 'commander';
import { out, printJson } from './common.js';
import { withBackend } from './backend.js';
import { printChanges } from './session.js';
import type { HeadView } from '../session/session-api.js';

const projectOption = (c: Command) =>
  c
    .option('--project <org/name>', 'project (env MIC_PROJECT)', process.env.MIC_PROJECT)
    .option(
      '--api-token <token>',
      "bearer token for the daemon's API (env MIC_API_TOKEN or MIC_API_TOKEN_FILE; default: the daemon's token file)",
    )
    .option('--json', 'print the API body');

function need(project: string | undefined): string {
  if (!project) throw new Error('--project <org/name> is required (or set MIC_PROJECT)');
  return project;
}

function headLine(h: HeadView): string {
  const who = h.session ? `${h.session}${h.goal ? ` (${h.goal})` : ''}` : '(no session)';
  const git = h.git_commit ? `  git ${h.git_commit.slice(0, 12)}` : '';
  return `${h.hash.slice(0, 12)}  ${h.time.slice(0, 19)}  ${who}${git}\n    ${h.git_commit ? h.message.split('\n')[0] : h.message}`;
}

export function historyCommands(): Command[] {
  const log = projectOption(new Command('log').description("walk the project's heads, newest first"))
    .option('--limit <n>', 'how many heads', '20')
    .option('--before <head>', 'start from this head instead of the current one')
    .action(async (o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const body = await api.log(need(o.project), { limit: Number(o.limit), before: o.before });
        if (o.json) return printJson(body);
        for (const h of body.heads) out(headLine(h));
        if (body.next) out(`(more: --before ${body.next.slice(0, 12)})`);
      }),
    );

  const show = projectOption(
    new Command('show')
      .description('show one head: its session, goal, message and changes')
      .argument('<head>', 'head hash, prefix, or HEAD'),
  ).action(async (head: string, o, c: Command) =>
    withBackend(c, o.json, async (api) => {
      const body = await api.showHead(need(o.project), head);
      if (o.json) return printJson(body);
      const h = body.head;
      out(`head     ${h.hash}`);
      out(`parent   ${h.parent ?? '(none)'}`);
      out(`time     ${h.time}`);
      out(`tree     ${h.tree}`);
      out(`message  ${h.message}`);
      if (body.session) {
        out(`session  ${body.session.session_id}`);
        out(`goal     ${body.session.goal}`);
        out(`         ${body.session.conversation_count} messages, ${body.session.decisions_count} decisions`);
      }
      const s = body.summary;
      out(`changes  ${s.total} (+${s.added} ~${s.modified} -${s.deleted})`);
      printChanges(body.changes);
      if (body.truncated) out('  ...');
    }),
  );

  const blame = projectOption(
    new Command('blame').description('the session, and its goal, that last changed a path').argument('<path>', 'path in the project'),
  ).action(async (p: string, o, c: Command) =>
    withBackend(c, o.json, async (api) => {
      const body = await api.blame(need(o.project), p);
      if (o.json) return printJson(body);
      out(
        `${body.path}: last changed by ${body.head.session ?? '(no session: the import)'} in head ${body.head.hash.slice(0, 12)} at ${body.head.time}`,
      );
      if (body.goal) out(`goal: ${body.goal}`);
      const meta = body.session?.metadata ?? {};
      if (meta.git_commit) out(`commit: ${meta.git_commit} by ${meta.git_author} at ${meta.git_author_date}`);
      out(`message: ${body.head.message}`);
    }),
  );
  return [log, show, blame];
}
