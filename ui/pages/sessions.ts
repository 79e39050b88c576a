// The sessions list: filters (project, status, tag, text in the goal), sort, pages of 25. The filters
// live in the URL, so a filtered list can be bookmarked and the back button works.
import { h, clear, link } from '../dom.js';
import { get, enc } from '../api.js';
import { age, counts, statusBadge } from '../format.js';
import type { SessionsBody } from '../types.js';

const STATUSES = ['active', 'suspended', 'landed', 'abandoned'];
const PAGE = 25;

export async function sessionsPage(root: HTMLElement, navigate: (url: string, replace?: boolean) => void): Promise<void> {
  const q = new URLSearchParams(location.search);
  const params = new URLSearchParams();
  for (const k of ['project', 'status', 'tag', 'q', 'sort', 'order', 'offset']) {
    const v = q.get(k);
    if (v) params.set(k, v);
  }
  params.set('limit', String(PAGE));
  const data = await get<SessionsBody>(`/ui/api/sessions?${params}`);
  document.title = 'Sessions · mic-fs';

  const select = (name: string, label: string, options: string[], value: string | null, labels?: Record<string, string>) =>
    h(
      'label',
      {},
      label,
      h(
        'select',
        { name },
        h('option', { value: '' }, 'any'),
        ...options.map((o) => h('option', { value: o, selected: o === value }, labels?.[o] ?? o)),
      ),
    );
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    select('project', 'Project', data.projects, q.get('project')),
    select('status', 'Status', STATUSES, q.get('status'), Object.fromEntries(STATUSES.map((s) => [s, `${s} (${data.counts[s]})`]))),
    select('tag', 'Tag', data.tags, q.get('tag')),
    h('label', {}, 'Goal', h('input', { type: 'search', name: 'q', value: q.get('q') ?? '', placeholder: 'text in the goal' })),
    h(
      'label',
      {},
      'Sort',
      h(
        'select',
        { name: 'sort' },
        ...[
          ['started', 'started'],
          ['landed', 'landed'],
          ['updated', 'last change'],
        ].map(([v, l]) => h('option', { value: v, selected: (q.get('sort') ?? 'started') === v }, l)),
      ),
    ),
    h(
      'label',
      {},
      'Order',
      h(
        'select',
        { name: 'order' },
        h('option', { value: 'desc', selected: q.get('order') !== 'asc' }, 'newest first'),
        h('option', { value: 'asc', selected: q.get('order') === 'asc' }, 'oldest first'),
      ),
    ),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const apply = () => {
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v) next.set(k, v);
    navigate(`/?${next}`, true);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  for (const s of form.querySelectorAll('select')) s.addEventListener('change', apply);

  const rows = data.sessions.map((s) =>
    h(
      'li',
      { class: 'session-row', 'data-session': s.session_id },
      h('div', { class: 'row-main' }, statusBadge(s.status), link(`/sessions/${enc(s.session_id)}`, h('span', { class: 'goal' }, s.goal))),
      h(
        'div',
        { class: 'row-meta' },
        link(`/projects/${s.project.split('/').map(enc).join('/')}`, s.project),
        ' · ',
        h('span', { class: 'agent' }, s.agent ?? 'no agent'),
        ' · ',
        counts(s.changes),
        ' · ',
        h('time', { datetime: s.started_at, title: s.started_at }, age(s.started_at)),
        s.tags.length ? h('span', { class: 'tags' }, ...s.tags.map((t: string) => h('span', { class: 'tag' }, t))) : null,
      ),
    ),
  );

  const pageLink = (offset: number, label: string) => {
    const p = new URLSearchParams(q);
    if (offset) p.set('offset', String(offset));
    else p.delete('offset');
    return link(`/?${p}`, label);
  };
  const from = data.total ? data.offset + 1 : 0;
  const to = data.offset + data.sessions.length;
  clear(
    root,
    h('h1', {}, 'Sessions'),
    form,
    h(
      'p',
      { class: 'muted', role: 'status' },
      `${data.total} session${data.total === 1 ? '' : 's'}${data.total ? `, ${from}–${to} shown` : ''}`,
    ),
    h('ul', { class: 'sessions' }, ...rows),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'pages' },
      data.offset > 0 ? pageLink(Math.max(0, data.offset - PAGE), '← previous') : null,
      data.next_offset !== null ? pageLink(data.next_offset, 'next →') : null,
    ),
  );
}
