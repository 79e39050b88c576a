// How the session commands print sessions, their changes and tables.
import { out } from './common.js';
import type { SessionDetail, SessionView, ChangeView } from '../session/session-api.js';

export function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((v, i) => (i < r.length - 1 ? v.padEnd(widths[i]) : v)).join('  ');
  out(line(header));
  for (const r of rows) out(line(r));
}

export const summary = (s: SessionView) => `${s.changes.total} changes (+${s.changes.added} ~${s.changes.modified} -${s.changes.deleted})`;

export function printSession(s: SessionView | SessionDetail): void {
  out(`session   ${s.session_id}`);
  out(`status    ${s.status}`);
  out(`project   ${s.project}`);
  out(`goal      ${s.goal}`);
  if (s.description) out(`about     ${s.description}`);
  out(`base      ${s.base_head.slice(0, 12)}`);
  out(`started   ${s.started_at}`);
  if (s.landed_at) out(`landed    ${s.landed_at} as ${s.landed_head?.slice(0, 12)}`);
  if (s.ended_at) out(`ended     ${s.ended_at}`);
  if (s.export) out(`export    ${s.export}`);
  if ('served_by' in s && s.export) out(`served by ${s.served_by ?? '(handed off: mic session serve, or mount it, on any daemon)'}`);
  if (s.tags.length) out(`tags      ${s.tags.join(', ')}`);
  for (const [k, v] of Object.entries(s.metadata)) out(`meta      ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  out(`type      ${s.type}${s.component_id ? ` (component ${s.component_id})` : ''}`);
  if (s.failure) out(`failed    ${s.failure.time}${s.failure.reason ? `: ${s.failure.reason}` : ''}`);
  if (s.interactions_count) out(`commands  ${s.interactions_count} recorded (mic session show --json)`);
  if (s.agent || s.environment) out(`agent     ${s.agent ?? '-'} (${s.environment ?? '-'}, ${s.execution_mode})`);
  out(`changes   ${summary(s)}`);
  if ('conversation' in s) {
    if (s.conversation.length) {
      out('\nconversation');
      for (const m of s.conversation) out(`  [${m.time.slice(0, 19)}] ${m.role}: ${m.content}`);
    }
    if (s.decisions.length) {
      out('\ndecisions');
      for (const d of s.decisions) out(`  [${d.time.slice(0, 19)}] ${d.decision}${d.reasoning ? `\n      because ${d.reasoning}` : ''}`);
    }
  }
}

export function printChanges(changes: ChangeView[]): void {
  const sign = { added: '+', modified: '~', deleted: '-' } as const;
  for (const c of changes) {
    const lines = c.lines_added !== null ? ` (+${c.lines_added} -${c.lines_removed})` : c.binary ? ' (binary)' : '';
    out(`  ${sign[c.change_type]} ${c.path}  ${c.size} bytes${lines}`);
  }
}
