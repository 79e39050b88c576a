// mic audit: read and verify the hash-chained audit log of the store.
import { Command } from 'commander';
import { dataDirOf, out, printJson } from './common.js';

export function auditCommand(): Command {
  return new Command('audit')
    .description('the audit log: who changed what, newest first; --verify checks the hash chain')
    .option('--actor <name>', 'only this actor')
    .option('--action <action>', 'only this action (session.land; session.* for a family)')
    .option('--target <target>', 'only this target (session:<id>, project:<org/name>, token:<id>; a trailing * matches a prefix)')
    .option('--since <iso-time>', 'entries at or after this time')
    .option('--limit <n>', 'at most this many entries', '50')
    .option('--verify', 'check every entry and link of the chain; exit 1 when anything was changed or removed')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      // the store loads only when audit runs
      const [{ openCatalog }, { AuditLog }] = await Promise.all([import('../daemon/data-dir.js'), import('../audit/audit-log.js')]);
      const log = new AuditLog(openCatalog(dataDirOf(cmd)).backend);
      if (o.verify) {
        const v = await log.verify();
        if (o.json) printJson(v);
        else {
          out(
            v.ok
              ? `audit log intact: ${v.entries} entries`
              : `audit log damaged: ${v.problems.length} problem(s) in ${v.entries} entries read`,
          );
          for (const p of v.problems) out(`  ${p.problem}${p.key ? ` (${p.key})` : ''}`);
          if (v.orphans.length)
            out(`  ${v.orphans.length} entr${v.orphans.length === 1 ? 'y' : 'ies'} off the chain (appends that lost a race)`);
        }
        if (!v.ok) process.exitCode = 1;
        return;
      }
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit: not a positive integer: ${o.limit}`);
      const entries = await log.query({ actor: o.actor, action: o.action, target: o.target, since: o.since, limit });
      if (o.json) return printJson({ entries });
      for (const e of entries) {
        out(`${String(e.seq).padStart(6)}  ${e.time}  ${e.actor.padEnd(18)} ${e.action.padEnd(24)} ${e.target}  ${e.result}`);
      }
    });
}
