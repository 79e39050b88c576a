// mic artifact: outputs of a session that are not project files (seed 004's storeFile/saveToFile,
// list, delete, findByType/findByTag/search). Works on the store directly; content streams in and out.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { dataDirOf, out, printJson } from './common.js';
import {
  ARTIFACT_TYPES,
  ArtifactStore,
  artifactId,
  isArtifactId,
  type ArtifactRecord,
  type ArtifactType,
} from '../artifacts/artifact-store.js';
import { localActor } from './identity.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const idOf = (s: string) => (isArtifactId(s) ? s : artifactId(s));

function line(a: ArtifactRecord): string {
  return `${a.id}  v${String(a.version).padEnd(3)} ${a.type.padEnd(7)} ${String(a.size).padStart(12)}  ${a.metadata.name}${a.metadata.tags?.length ? `  [${a.metadata.tags.join(', ')}]` : ''}`;
}

export function artifactCommand(): Command {
  const c = new Command('artifact').description('artifacts of a session: logs, reports, screenshots, data, models');
  // the store loads only when an artifact command runs
  const open = async (cmd: Command) => {
    const [{ openCatalog }, { AuditLog }] = await Promise.all([import('../daemon/data-dir.js'), import('../audit/audit-log.js')]);
    const catalog = openCatalog(dataDirOf(cmd));
    return { store: new ArtifactStore(catalog), audit: new AuditLog(catalog.backend) };
  };
  c.command('put <session> <file>')
    .description('store a file as an artifact (a new version when the name exists)')
    .option('--name <name>', 'artifact name (default: the file name)')
    .option('--type <type>', `one of ${ARTIFACT_TYPES.join(', ')}`, 'data')
    .option('--description <text>')
    .option('--tag <tag>', 'repeatable', collect, [])
    .option('--content-type <mime>', 'served with this Content-Type', 'application/octet-stream')
    .option('--json', 'print JSON')
    .action(async (session: string, file: string, o, cmd: Command) => {
      if (!(ARTIFACT_TYPES as readonly string[]).includes(o.type)) throw new Error(`--type: one of ${ARTIFACT_TYPES.join(', ')}`);
      const { store, audit } = await open(cmd);
      const name = o.name ?? path.basename(file);
      const rec = await store.put(session, {
        type: o.type as ArtifactType,
        file,
        contentType: o.contentType,
        actor: localActor(),
        metadata: { name, ...(o.description ? { description: o.description } : {}), tags: o.tag as string[] },
      });
      await audit.append({
        actor: localActor(),
        action: 'artifact.store',
        target: `artifact:${rec.id}`,
        result: 'ok',
        detail: { session, project: rec.project, version: rec.version, name, size: rec.size },
      });
      if (o.json) printJson({ artifact: rec });
      else out(line(rec));
    });
  c.command('get <session> <artifact>')
    .description("write an artifact's content to a file or stdout (artifact: id or name)")
    .option('--version <n>', 'this version (default: the latest)')
    .option('-o, --output <file>', 'write here (default: stdout)')
    .action(async (session: string, artifact: string, o, cmd: Command) => {
      const { store } = await open(cmd);
      const rec = await store.get(session, idOf(artifact), o.version !== undefined ? Number(o.version) : undefined);
      await pipeline(Readable.from(store.content(rec)), o.output ? fs.createWriteStream(o.output) : process.stdout);
    });
  c.command('ls <session>')
    .alias('list')
    .option('--json')
    .action(async (session: string, o, cmd: Command) => {
      const list = await (await open(cmd)).store.list(session);
      if (o.json) return printJson({ artifacts: list });
      for (const a of list) out(line(a));
    });
  c.command('rm <session> <artifact>')
    .description('delete every version (gc collects the content)')
    .action(async (session: string, artifact: string, _o, cmd: Command) => {
      const { store, audit } = await open(cmd);
      const rec = await store.delete(session, idOf(artifact));
      if (!rec) throw new Error(`no artifact ${artifact} in session ${session}`);
      await audit.append({
        actor: localActor(),
        action: 'artifact.delete',
        target: `artifact:${rec.id}`,
        result: 'ok',
        detail: { session, project: rec.project },
      });
      out(`artifact ${rec.id} (${rec.metadata.name}) deleted`);
    });
  c.command('find <project>')
    .description('artifacts across a project by type, tag, session and text')
    .option('--type <type>')
    .option('--tag <tag>')
    .option('--text <text>')
    .option('--session <id>')
    .option('--limit <n>', '', '100')
    .option('--json')
    .action(async (project: string, o, cmd: Command) => {
      const list = await (
        await open(cmd)
      ).store.query(project, {
        type: o.type,
        tag: o.tag,
        text: o.text,
        session: o.session,
        limit: Number(o.limit),
      });
      if (o.json) return printJson({ artifacts: list });
      for (const a of list) out(`${a.session_id}  ${line(a)}`);
    });
  return c;
}
