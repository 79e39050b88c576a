// The sessions list: filters (project, status, tag, text in the goal), newest first, pages of 25 with a
// cursor (each page reads only its own sessions on the daemon). The filters and the cursor live in the URL,
// so a filtered list can be bookmarked and the back button returns to the newer page.
import { h, clear, link } from '../dom.js';
import { get, enc } from '../api.js';
import { age, counts, statusBadge } from '../format.js';
import type { SessionsBody } from '../types.js';

const STATUSES = ['active', 'suspended', 'landed', 'abandoned'];
const PAGE = 25;

export async function sessionsPage(root: HTMLElement, navigate: (url: string, replace?: boolean) => void): Promise<void> {
  const q = new URLSearchParams(location.search);
  const params = new URLSearchParams();
  for (const k of ['project', 'status', 'tag', 'q', 'cursor']) {
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
    h('label', {}, 'Goal', h('input', { type: 'search', name: 'q', value: q.get('q') ?? '', placeholder: 'text in the goal' })),
    select('project', 'Project', data.projects, q.get('project')),
    select(
      'status',
      'Status',
      STATUSES,
      q.get('status'),
      Object.fromEntries(STATUSES.map((s) => [s, s in data.counts ? `${s} (${data.counts[s]})` : s])),
    ),
    h(
      'label',
      {},
      'Tag',
      h('input', { type: 'text', name: 'tag', value: q.get('tag') ?? '', list: 'page-tags', placeholder: 'any' }),
      h('datalist', { id: 'page-tags' }, ...data.tags.map((t) => h('option', { value: t }))),
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

  const pageLink = (cursor: string | null, label: string, rel: string) => {
    const p = new URLSearchParams(q);
    if (cursor) p.set('cursor', cursor);
    else p.delete('cursor');
    return h('a', { href: `/?${p}`, rel }, label);
  };
  const n = data.sessions.length;
  clear(
    root,
    h('h1', {}, 'Sessions'),
    form,
    h(
      'p',
      { class: 'muted', role: 'status' },
      n
        ? `${n} session${n === 1 ? '' : 's'} shown, newest first${data.next_cursor ? '; older ones on the next page' : ''}`
        : data.next_cursor
          ? 'none on this page; older ones on the next'
          : 'no sessions',
    ),
    h('ul', { class: 'sessions' }, ...rows),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'pages' },
      q.get('cursor') ? pageLink(null, '← newest', 'first') : null,
      data.next_cursor !== null ? pageLink(data.next_cursor, 'older →', 'next') : null,
    ),
  );
}
