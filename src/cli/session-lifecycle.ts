// The session commands of seed 002/004's lifecycle beside start and land: use (the current session),
// fail, delete, and a project's session types and agents.
import type { Command } from 'commander';
import { withBackend } from './backend.js';
import { out, printJson } from './common.js';
import { sessionIdOr } from './session-current.js';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function addLifecycleCommands(cmd: Command): void {
  cmd
    .command('use [id]')
    .description('make a session your current one: session commands given no id use it (--clear: none; no id: print it)')
    .option('--clear', 'no current session')
    .option('--json', 'print the API body')
    .action(async (id: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const body = o.clear
          ? await api.setCurrent({ session_id: null })
          : id
            ? await api.setCurrent({ session_id: id })
            : await api.getCurrent();
        if (o.json) return printJson(body);
        out(
          body.session ? `current session: ${body.session.session_id} (${body.session.status}) ${body.session.goal}` : 'no current session',
        );
      }),
    );

  cmd
    .command('fail [id]')
    .description('the agent gave up: the tree is kept, read-only, and cannot land until resumed')
    .option('--reason <text>', 'why')
    .option('--json', 'print the API body')
    .action(async (id: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const sid = await sessionIdOr(api, id);
        const body = await api.fail(sid, o.reason !== undefined ? { reason: o.reason } : {});
        if (o.json) return printJson(body);
        out(`session ${sid} is ${body.session.status}; mic session resume ${sid} to work on it again`);
      }),
    );

  cmd
    .command('delete [id]')
    .description('delete a live session: abandon it and free its local data (a landed session is history and stays)')
    .option('--json', 'print the API body')
    .action(async (id: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const sid = await sessionIdOr(api, id);
        const body = await api.remove(sid);
        if (o.json) return printJson(body);
        out(`session ${sid} deleted (${body.session.status}; its record stays in the history)`);
      }),
    );

  cmd
    .command('types')
    .description("a project's session types and agents (seed 002); --set / --agents replace them")
    .requiredOption('--project <org/name>', 'the project')
    .option('--set <type,...>', 'the session types, comma-separated')
    .option('--agents <agent,...>', 'the agents, comma-separated')
    .option('--json', 'print the API body')
    .action(async (o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const body =
          o.set !== undefined || o.agents !== undefined
            ? await api.setSessionConfig(o.project, {
                ...(o.set !== undefined ? { session_types: list(o.set) } : {}),
                ...(o.agents !== undefined ? { agents: list(o.agents) } : {}),
              })
            : await api.sessionConfig(o.project);
        if (o.json) return printJson(body);
        out(`session types: ${body.session_types.join(', ')}`);
        out(`agents:        ${body.agents.join(', ')}`);
      }),
    );
}
