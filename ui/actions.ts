// Actions on a live session: land (conflicts shown file by file with the three versions), rebase,
// suspend/resume, abandon, a note or a decision. Each asks for confirmation and shows its result.
import { h, clear, link, loadCode } from './dom.js';
import { HttpError, asText, blob, enc, post, projPath } from './api.js';
import { confirmDialog } from './confirm-dialog.js';
import { short } from './format.js';
import type { HeadView, SessionView } from './types.js';

interface Side {
  kind: string;
  hash: string | null;
  size: number;
  target?: string;
}
interface Conflict {
  path: string;
  kind: string;
  base: Side | null;
  session: Side | null;
  head: Side | null;
  resolution?: string;
}

async function sideView(project: string, path: string, label: string, s: Side | null): Promise<HTMLElement> {
  const col = h('div', { class: 'side' }, h('h4', {}, label));
  if (!s) {
    col.appendChild(h('p', { class: 'muted' }, 'absent'));
    return col;
  }
  if (s.kind === 'symlink') {
    col.appendChild(h('p', {}, `symlink → ${s.target ?? ''}`));
    return col;
  }
  if (s.kind !== 'file') {
    col.appendChild(h('p', {}, `a ${s.kind}`));
    return col;
  }
  if (!s.hash) {
    col.appendChild(h('p', { class: 'muted' }, 'empty file'));
    return col;
  }
  if (s.size > 1024 * 1024) {
    col.appendChild(h('p', { class: 'muted' }, `${s.size} bytes, too large to show`));
    return col;
  }
  const text = asText(await blob(project, s.hash));
  const { renderFile } = await loadCode();
  col.appendChild(text === null ? h('p', { class: 'muted' }, `binary, ${s.size} bytes`) : renderFile(text, path));
  return col;
}

export async function conflictsView(project: string, conflicts: Conflict[]): Promise<HTMLElement> {
  const items = await Promise.all(
    conflicts.map(async (c) =>
      h(
        'li',
        { class: 'conflict', 'data-path': c.path },
        h(
          'h3',
          {},
          h('span', { class: 'path' }, c.path),
          ' ',
          h('span', { class: 'badge kind' }, c.kind),
          c.resolution ? h('span', { class: 'muted' }, ` (left: ${c.resolution})`) : null,
        ),
        h(
          'div',
          { class: 'three' },
          ...(await Promise.all([
            sideView(project, c.path, 'base', c.base),
            sideView(project, c.path, 'this session', c.session),
            sideView(project, c.path, 'head', c.head),
          ])),
        ),
      ),
    ),
  );
  return h('ul', { class: 'conflicts' }, ...items);
}

export interface ActionContext {
  session: SessionView;
  /** re-read and re-render the page */
  refresh: () => Promise<void>;
  /** where results go (kept when the panel is rebuilt after a status change) */
  result: HTMLElement;
}

export function actionsPanel(ctx: ActionContext): HTMLElement {
  const s = ctx.session;
  const id = enc(s.session_id);
  const result = ctx.result;
  const busy = (on: boolean) =>
    panel.querySelectorAll('button').forEach((b) => {
      b.disabled = on;
    });
  const run = async (what: string, fn: () => Promise<Node | string>) => {
    busy(true);
    clear(result, h('p', { class: 'muted' }, `${what}…`));
    try {
      const out = await fn();
      clear(result, typeof out === 'string' ? h('p', { class: 'ok' }, out) : out);
      await ctx.refresh();
    } catch (e) {
      const err = e as HttpError;
      if (err.status === 409 && err.body?.conflicts?.length) {
        clear(result, h('p', { class: 'error' }, err.message), await conflictsView(s.project, err.body.conflicts as Conflict[]));
      } else if (err.status === 403) {
        // a signed-in user without the right (or a request from elsewhere): say so, not "failed"
        const who = document.body.dataset.user;
        clear(
          result,
          h('p', { class: 'error', 'data-refused': '' }, `${what} refused${who ? ` (signed in as ${who})` : ''}: ${err.message}`),
        );
      } else clear(result, h('p', { class: 'error' }, `${what} failed: ${err.message}`));
    } finally {
      busy(false);
    }
  };
  const message = h('input', { type: 'text', name: 'message', placeholder: s.goal, 'aria-label': 'landing message' });
  const live = s.status === 'active' || s.status === 'suspended';
  const btn = (label: string, action: string, onclick: () => void, cls = '') =>
    h('button', { type: 'button', 'data-action': action, class: cls, onclick }, label);

  const land = btn(
    'Land',
    'land',
    async () => {
      const msg = message.value.trim() || s.goal;
      if (
        !(await confirmDialog(
          'Land this session?',
          `Its changes merge into a new head of ${s.project} with the message “${msg}”. A landed session cannot change.`,
          'Land',
        ))
      )
        return;
      await run('Landing', async () => {
        const r = await post<{ head: HeadView; attempts: number }>(`/api/sessions/${id}/land`, { message: msg });
        return h(
          'p',
          { class: 'ok' },
          'Landed as head ',
          link(`/projects/${projPath(s.project)}/heads/${r.head.hash}`, short(r.head.hash)),
          ` (${r.attempts} attempt${r.attempts === 1 ? '' : 's'}).`,
        );
      });
    },
    'primary',
  );
  const rebase = btn('Rebase', 'rebase', async () => {
    if (
      !(await confirmDialog(
        'Rebase onto the current head?',
        'The session is rebuilt on the current head; conflicted files are left for you (text with markers). Mounted clients must mount again.',
        'Rebase',
      ))
    )
      return;
    await run('Rebasing', async () => {
      const r = await post<{ from: string; to: string; rebased: boolean; conflicts: Conflict[] }>(`/api/sessions/${id}/rebase`);
      if (!r.rebased) return 'Already on the current head.';
      const head = h(
        'p',
        { class: 'ok' },
        `Rebased from ${short(r.from)} to ${short(r.to)}${r.conflicts.length ? `, ${r.conflicts.length} conflict(s) left in the files:` : '.'}`,
      );
      return r.conflicts.length ? h('div', {}, head, await conflictsView(s.project, r.conflicts)) : head;
    });
  });
  const suspend =
    s.status === 'active'
      ? btn('Suspend', 'suspend', async () => {
          if (!(await confirmDialog('Suspend this session?', 'It keeps its files; resume it to change them or land.', 'Suspend'))) return;
          await run('Suspending', async () => {
            await post(`/api/sessions/${id}/suspend`);
            return 'Suspended.';
          });
        })
      : btn('Resume', 'resume', async () => {
          if (!(await confirmDialog('Resume this session?', 'It becomes active again.', 'Resume'))) return;
          await run('Resuming', async () => {
            await post(`/api/sessions/${id}/resume`);
            return 'Resumed.';
          });
        });
  const abandon = btn(
    'Abandon',
    'abandon',
    async () => {
      if (
        !(await confirmDialog(
          'Abandon this session?',
          'Its changes are dropped and its export closes. This cannot be undone.',
          'Abandon',
          true,
        ))
      )
        return;
      await run('Abandoning', async () => {
        await post(`/api/sessions/${id}/abandon`);
        return 'Abandoned.';
      });
    },
    'danger',
  );

  const role = h(
    'select',
    { name: 'role', 'aria-label': 'role' },
    ...['user', 'assistant', 'system'].map((r) => h('option', { value: r }, r)),
  );
  const note = h('textarea', { name: 'note', rows: 2, placeholder: 'Add a note to the conversation (markdown)', 'aria-label': 'note' });
  const noteForm = h('form', { class: 'annotate', 'data-form': 'note' }, role, note, h('button', { type: 'submit' }, 'Add note'));
  noteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const content = note.value.trim();
    if (!content) return;
    if (!(await confirmDialog('Add this note?', content, 'Add note'))) return;
    await run('Adding the note', async () => {
      await post(`/api/sessions/${id}/conversation`, { role: role.value, content });
      note.value = '';
      return 'Note added.';
    });
  });
  const decision = h('input', { type: 'text', name: 'decision', placeholder: 'Decision', 'aria-label': 'decision' });
  const reasoning = h('textarea', { name: 'reasoning', rows: 2, placeholder: 'Reasoning', 'aria-label': 'reasoning' });
  const decForm = h(
    'form',
    { class: 'annotate', 'data-form': 'decision' },
    decision,
    reasoning,
    h('button', { type: 'submit' }, 'Add decision'),
  );
  decForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const d = decision.value.trim();
    if (!d) return;
    if (!(await confirmDialog('Record this decision?', d, 'Record'))) return;
    await run('Recording the decision', async () => {
      await post(`/api/sessions/${id}/decisions`, { decision: d, reasoning: reasoning.value.trim() });
      decision.value = '';
      reasoning.value = '';
      return 'Decision recorded.';
    });
  });

  const panel = h(
    'section',
    { class: 'actions', 'aria-label': 'actions' },
    h('h2', {}, 'Actions'),
    live ? h('div', { class: 'land' }, s.status === 'active' ? [message, land, rebase] : null, suspend, abandon) : null,
    live ? h('div', { class: 'forms' }, noteForm, decForm) : h('p', { class: 'muted' }, `A ${s.status} session cannot change.`),
  );
  return panel;
}
