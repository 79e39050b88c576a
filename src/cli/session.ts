import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { dataDirOf, out, printJson } from './common.js';
import { withBackend } from './backend.js';
import { addReplayCommand } from './replay.js';
import { exportPath, STATUSES } from '../session/record.js';
import { mountSession } from './mount.js';
import { createProgress } from './progress.js';
import { withUploadProgress } from './handoff-progress.js';
import { sessionIdOr } from './session-current.js';
import { printChanges, printSession, summary, table } from './session-print.js';
export { printChanges };
import { addExecCommand } from './session-exec.js';
import { addLifecycleCommands } from './session-lifecycle.js';
import { STATUS_ALIASES } from '../session/input.js';

/** --port when given (or MIC_PORT), for a mount with no daemon to ask. */
function cmdPort(c: Command, port: string): string | undefined {
  return c.getOptionValueSource('port') === 'default' && process.env.MIC_PORT === undefined ? undefined : port;
}
import type { FileChangeInput } from '../session/session-api.js';

export function mountHelp(id: string, port: number, host = '127.0.0.1'): string[] {
  const ex = exportPath(id);
  return [
    `Linux:  sudo mkdir -p /mnt/${id} && sudo mount -t nfs -o vers=3,proto=tcp,port=${port},mountport=${port},nolock ${host}:${ex} /mnt/${id}`,
    `macOS:  mkdir -p ~/mnt/${id} && sudo mount -t nfs -o vers=3,tcp,port=${port},mountport=${port},locallocks ${host}:${ex} ~/mnt/${id}`,
  ];
}

/** "k=v,k2=v2" (repeatable) */
function parseMetadata(v: string, prev: Record<string, string> = {}): Record<string, string> {
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`--metadata: expected key=value, got ${JSON.stringify(part)}`);
    prev[part.slice(0, i)] = part.slice(i + 1);
  }
  return prev;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function parseJsonObject(v: string, flag: string): Record<string, unknown> {
  let x: unknown;
  try {
    x = JSON.parse(v);
  } catch {
    throw new Error(`${flag}: not JSON: ${v.slice(0, 80)}`);
  }
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${flag}: must be a JSON object`);
  return x as Record<string, unknown>;
}

/** --file path[:change_type], content read from --from (default: the current directory). */
function readFiles(specs: string[], from: string): FileChangeInput[] {
  return specs.map((spec) => {
    const m = /^(.*):(added|modified|deleted)$/.exec(spec);
    const p = m ? m[1] : spec;
    const local = path.resolve(from, p);
    const exists = fs.existsSync(local);
    // no type given: the session's tree decides between added and modified
    const change = (m?.[2] ?? (exists ? 'auto' : 'deleted')) as FileChangeInput['change_type'];
    if (change === 'deleted') return { path: p, change_type: change };
    if (!exists) throw new Error(`--file ${spec}: ${local} does not exist`);
    const data = fs.readFileSync(local);
    const st = fs.statSync(local);
    return { path: p, change_type: change, content: data.toString('base64'), encoding: 'base64', mode: st.mode & 0o7777 };
  });
}

export function sessionCommand(): Command {
  const cmd = new Command('session')
    .description('sessions: units of work with their own copy-on-write mount')
    .option(
      '--api-token <token>',
      "bearer token for the daemon's API (env MIC_API_TOKEN or MIC_API_TOKEN_FILE; default: the daemon's token file)",
    );

  cmd
    .command('start [title]')
    .description('start a session from the project head (mic session start "add auth" --project org/name [--goal ...])')
    .option('--project <org/name>', 'project ("org/name", or its name with --organization)')
    .option('--organization <org>', 'organization of --project')
    .option('--working-dir <dir>', 'the working directory: without --project, the project claiming it (mic session types)')
    .option('--goal <text>', 'what the session is for (default: the title)')
    .option('--description <text>', 'longer description')
    .option('--session-id <id>', 'choose the id')
    .option('--tag <tag>', 'a tag (repeatable)', collect)
    .option('--metadata <k=v,...>', 'metadata (repeatable)', parseMetadata)
    .option('--agent <name>', "agent driving the session (e.g. claude_code; one of the project's agents: mic session types)")
    .option('--type <type>', "the session's type (one of the project's session types: mic session types; default general)")
    .option('--state <json>', 'session-type-specific state, a JSON object')
    .option('--external-conversation-id <id>', "the agent's own conversation id, for resuming")
    .option('--component <name>', 'the component the session works on')
    .option('--use', 'make it your current session (mic session use)')
    .addOption(new Option('--environment <env>', 'where it runs').choices(['local', 'vscode']))
    .addOption(new Option('--execution-mode <mode>', 'manual or agentic').choices(['manual', 'agentic']))
    .option('--port <n>', 'NFS port for the mount command when no daemon runs (env MIC_PORT)', process.env.MIC_PORT ?? '2049')
    .option('--json', 'print the API body')
    .option('--mount [dir]', 'mount the session (mic mount) once started; default dir ~/mic/<id>')
    .action(async (title: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api, b) => {
        const goal = o.goal ?? title;
        if (!o.project && !o.workingDir) throw new Error('give the project (--project org/name) or a working directory (--working-dir)');
        if (!goal && !o.workingDir) throw new Error('give the goal: mic session start "<title>" --project org/name, or --goal <text>');
        // with both, the title is kept as the session's short name (metadata "title")
        const metadata = title && o.goal ? { ...(o.metadata ?? {}), title } : o.metadata;
        const body = await api.start({
          ...(o.workingDir !== undefined ? { working_directory: path.resolve(o.workingDir) } : {}),
          project: o.project,
          organization: o.organization,
          goal,
          description: o.description,
          session_id: o.sessionId,
          tags: o.tag,
          metadata,
          agent: o.agent,
          environment: o.environment,
          execution_mode: o.executionMode,
          type: o.type,
          state: o.state === undefined ? undefined : parseJsonObject(o.state, '--state'),
          external_conversation_id: o.externalConversationId,
          component_id: o.component,
          ...(o.nfsUid !== undefined ? { nfs_uid: /^\d+$/.test(o.nfsUid) ? Number(o.nfsUid) : o.nfsUid } : {}),
        });
        if (o.use) await api.setCurrent({ session_id: body.session.session_id });
        if (o.json) printJson(body);
        const s = body.session;
        if (!o.json) {
          out(`session ${s.session_id} started on ${s.project} at ${s.base_head.slice(0, 12)}`);
          out(`export: ${s.export}`);
          if (!o.mount) for (const line of mountHelp(s.session_id, b.daemon?.port ?? Number(o.port))) out(line);
        }
        if (o.mount) {
          const port = b.daemon ? undefined : cmdPort(c, o.port);
          process.exitCode = await mountSession(s.session_id, o.mount === true ? undefined : o.mount, { port }, dataDirOf(c));
        }
      }),
    );

  cmd
    .command('list')
    .description('list sessions')
    .addOption(
      new Option('--status <status>', "only this status (the seeds' names too: complete = landed, cancelled = abandoned)").choices([
        ...STATUSES,
        ...Object.keys(STATUS_ALIASES),
      ]),
    )
    .option('--type <type>', 'only sessions of this type')
    .option('--tag <tag>', 'only sessions with this tag')
    .option('--project <org/name>', 'only this project')
    .option('--limit <n>', 'page size (newest first)', '50')
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .option('--all', 'every page, not only the first')
    .option('--json', 'print the API body')
    .action(async (o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const q = { status: o.status, type: o.type, tag: o.tag, project: o.project, limit: Number(o.limit) };
        let body = await api.list({ ...q, ...(o.cursor ? { cursor: String(o.cursor) } : {}) });
        const sessions = [...body.sessions];
        while (o.all && body.next_cursor) {
          body = await api.list({ ...q, cursor: body.next_cursor });
          sessions.push(...body.sessions);
        }
        if (o.json) return printJson(o.all ? { ...body, sessions } : body);
        if (!sessions.length) return out(body.next_cursor ? `none on this page; next page: --cursor ${body.next_cursor}` : 'no sessions');
        table(
          ['ID', 'STATUS', 'PROJECT', 'STARTED', 'CHANGES', 'GOAL'],
          sessions.map((s) => [s.session_id, s.status, s.project, s.started_at.slice(0, 19), String(s.changes.total), s.goal]),
        );
        if (body.next_cursor !== null)
          out(`(${body.total !== null ? `${body.total} in all; ` : ''}next page: --cursor ${body.next_cursor})`);
      }),
    );

  cmd
    .command('show [id]')
    .description('show a session: goal, conversation, decisions and changes')
    .option('--json', 'print the API body')
    .action(async (arg: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const id = await sessionIdOr(api, arg);
        const body = await api.get(id);
        if (o.json) return printJson(body);
        printSession(body.session);
        const ch = await api.changes(id, { content: false });
        if (ch.changes.length) {
          out('\nchanges');
          printChanges(ch.changes);
        }
      }),
    );

  cmd
    .command('land [id]')
    .description('land the session into the project head (three-way merge)')
    .option('--session-id <id>', 'the session (instead of the argument)')
    .option('-m, --message <text>', 'landing message (default: the goal)')
    .option('--commit-message <text>', 'the same as --message')
    .option('--file <path[:change_type]>', 'apply a file from --from before landing (repeatable)', collect)
    .option('--from <dir>', 'directory --file paths are read from', '.')
    .option('--metadata <k=v,...>', 'metadata to add (repeatable)', parseMetadata)
    .option('--json', 'print the API body')
    .option('-q, --quiet', 'no progress output (stderr)')
    .action(async (arg: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api, b) => {
        const id = await sessionIdOr(api, arg ?? o.sessionId);
        if (arg && o.sessionId && arg !== o.sessionId) throw new Error(`two sessions given: ${arg} and --session-id ${o.sessionId}`);
        const files = o.file ? readFiles(o.file, o.from) : undefined;
        const body = await withUploadProgress(
          `land ${id}`,
          b.daemon,
          createProgress({ quiet: o.quiet }),
          api.land(id, { message: o.message ?? o.commitMessage, files, metadata: o.metadata }),
        );
        if (o.json) return printJson(body);
        out(`landed ${id} as ${body.head.hash.slice(0, 12)} (parent ${body.head.parent?.slice(0, 12)}): ${summary(body.session)}`);
      }),
    );

  for (const [name, what] of [
    ['abandon', 'end the session without landing it'],
    ['suspend', 'pause the session'],
    ['resume', 'resume a suspended or failed session'],
  ] as const) {
    cmd
      .command(`${name} [id]`)
      .description(what)
      .option('--json', 'print the API body')
      .action(async (arg: string | undefined, o, c: Command) =>
        withBackend(c, o.json, async (api) => {
          const id = await sessionIdOr(api, arg);
          const body = await api[name](id);
          if (o.json) return printJson(body);
          out(`session ${id} is ${body.session.status}`);
        }),
      );
  }

  cmd
    .command('diff [id]')
    .description("the session's changes against its base, as a unified diff")
    .option('--stat', 'only the list of changed files')
    .option('--json', 'print the API body')
    .action(async (arg: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const id = await sessionIdOr(api, arg);
        if (o.stat) {
          const body = await api.changes(id, { content: false });
          if (o.json) return printJson(body);
          printChanges(body.changes);
          out(`${body.summary.total} changes (+${body.summary.added} ~${body.summary.modified} -${body.summary.deleted})`);
          return;
        }
        const body = await api.diff(id);
        if (o.json) return printJson(body);
        process.stdout.write(body.diff);
      }),
    );

  cmd
    .command('note [id]')
    .description('add a decision (--decision, --reasoning) or a conversation message (--message, --role)')
    .option('--decision <text>', 'the decision')
    .option('--reasoning <text>', 'why', '')
    .option('--message <text>', 'a conversation message')
    .option('--role <role>', 'who says it', 'user')
    .option('--json', 'print the API body')
    .action(async (arg: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const id = await sessionIdOr(api, arg);
        if (!o.decision && !o.message) throw new Error('give --decision or --message');
        let body;
        if (o.decision) body = await api.decisions(id, { decision: o.decision, reasoning: o.reasoning });
        if (o.message) body = await api.conversation(id, { role: o.role, content: o.message });
        if (o.json) return printJson(body);
        out(`session ${id}: ${body!.session.conversation_count} messages, ${body!.session.decisions_count} decisions`);
      }),
    );

  cmd
    .command('log [id]')
    .description("the session's timeline: file changes, conversation, decisions, status changes")
    .option('--json', 'print the API body')
    .action(async (arg: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const id = await sessionIdOr(api, arg);
        const body = await api.get(id);
        if (o.json) return printJson({ session_id: id, timeline: body.session.timeline });
        for (const e of body.session.timeline) {
          const what =
            e.type === 'file'
              ? `${e.change_type} ${e.path}`
              : e.type === 'status'
                ? `${e.from} -> ${e.status}`
                : e.type === 'conversation'
                  ? `message from ${e.role}`
                  : e.type === 'decision'
                    ? `decided: ${e.decision}`
                    : e.type === 'landed'
                      ? `landed as ${e.head?.slice(0, 12)}: ${e.message}`
                      : e.type === 'land_conflict'
                        ? `landing refused: ${e.conflicts} conflicts with ${e.head?.slice(0, 12)}`
                        : e.type === 'rebased'
                          ? `rebased onto ${e.head?.slice(0, 12)} (${e.conflicts} conflicts)`
                          : e.type === 'started'
                            ? `started at ${e.head?.slice(0, 12)}`
                            : e.type === 'mounted' || e.type === 'unmounted'
                              ? `${e.type} by ${e.client}${e.path ? ` (directory ${e.path})` : ''}${e.reason === 'gone' ? ' (gone: no connection)' : ''}`
                              : e.type;
          out(`${e.time.slice(0, 19)}  ${e.type.padEnd(13)} ${what}`);
        }
      }),
    );

  cmd
    .command('rebase [id]')
    .description("move the session's base to the current head; conflicted files are left for you to resolve")
    .option('--json', 'print the API body')
    .action(async (arg: string | undefined, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const id = await sessionIdOr(api, arg);
        const body = await api.rebase(id);
        if (o.json) return printJson(body);
        if (!body.rebased) return out(`session ${id} is already on the head ${body.to.slice(0, 12)}`);
        out(`session ${id} rebased from ${body.from.slice(0, 12)} onto ${body.to.slice(0, 12)}; mount it again (old handles are stale)`);
        for (const cf of body.conflicts)
          out(
            `  conflict ${cf.kind.padEnd(14)} ${cf.path}: ${cf.resolution === 'markers' ? 'conflict markers written' : `kept the ${cf.resolution}'s version`}`,
          );
      }),
    );

  cmd
    .command('handoff <id>')
    .description('stop serving the session here so that another daemon on the same store can serve it')
    .option('--json', 'print the API body')
    .option('-q, --quiet', 'no progress output (stderr)')
    .action(async (id: string, o, c: Command) =>
      withBackend(c, o.json, async (api, b) => {
        const body = await withUploadProgress(`handoff ${id}`, b.daemon, createProgress({ quiet: o.quiet }), api.handoff(id));
        if (o.json) return printJson(body);
        out(`session ${id} handed off by ${body.handed_off_by} at tree ${body.tree.slice(0, 12)}; its export here is closed`);
        out(`serve it on the other daemon: mic session serve ${id} (or mount ${body.session.export} there)`);
      }),
    );

  cmd
    .command('serve <id>')
    .description('serve a handed-off session on this daemon, from the tree it was handed off with')
    .option('--force', 'take it even from a daemon that still holds it (one that died): changes it had not recorded are lost')
    .option('--port <n>', 'NFS port for the mount command when no daemon runs (env MIC_PORT)', process.env.MIC_PORT ?? '2049')
    .option('--json', 'print the API body')
    .action(async (id: string, o, c: Command) =>
      withBackend(c, o.json, async (api, b) => {
        const body = await api.serve(id, { force: Boolean(o.force) });
        if (o.json) return printJson(body);
        out(
          body.took_over
            ? `session ${id} is now served by ${body.served_by} (was ${body.previous ?? 'handed off'}), from tree ${body.tree.slice(0, 12)}`
            : `session ${id} is already served here (${body.served_by})`,
        );
        out(`export: ${body.session.export}`);
        for (const line of mountHelp(id, b.daemon?.port ?? Number(o.port))) out(line);
      }),
    );

  addLifecycleCommands(cmd);
  addExecCommand(cmd);
  addReplayCommand(cmd);
  return cmd;
}
