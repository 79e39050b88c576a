// A project's history: the head log, a head (its changes against its parent), the file tree of any head
// with a file view, raw download and line blame, and the comparison of two heads.
import { h, clear, link, loadCode, trustedHtml } from '../dom.js';
import { asText, blob, enc, get, projPath } from '../api.js';
import { age, counts, short, size, statusBadge, time } from '../format.js';
import { changeList, type Change } from '../change-list.js';
import type { BlameBody, ChangeCounts, HeadView, LogHead, SessionView, TreeBody } from '../types.js';

const base = (project: string) => `/projects/${projPath(project)}`;
const pathHref = (project: string, view: 'tree' | 'blame', head: string, path: string) =>
  `${base(project)}/${view}/${enc(head)}${path ? '/' + path.split('/').map(enc).join('/') : ''}`;

function crumbs(project: string, head?: string, path?: string): HTMLElement {
  const out: (Node | string)[] = [link('/', 'Sessions'), ' / ', link(base(project), project)];
  if (head) {
    out.push(' / ', link(pathHref(project, 'tree', head, ''), h('code', {}, short(head))));
    let acc = '';
    for (const part of (path ?? '').split('/').filter(Boolean)) {
      acc = acc ? `${acc}/${part}` : part;
      out.push(' / ', link(pathHref(project, 'tree', head, acc), part));
    }
  }
  return h('p', { class: 'crumbs' }, ...out);
}

function compareForm(project: string, a = '', b = 'HEAD'): HTMLElement {
  const form = h(
    'form',
    { class: 'compare-form', action: `${base(project)}/compare`, method: 'get' },
    h('label', {}, 'Compare ', h('input', { name: 'a', value: a, placeholder: 'older head', required: true, size: 14 })),
    h('label', {}, ' with ', h('input', { name: 'b', value: b, placeholder: 'newer head', required: true, size: 14 })),
    h('button', { type: 'submit' }, 'Compare'),
  );
  return form;
}

export async function logPage(root: HTMLElement, project: string): Promise<void> {
  const before = new URLSearchParams(location.search).get('before');
  const data = await get<{ heads: LogHead[]; next: string | null }>(
    `/ui/api/projects/${projPath(project)}/log?limit=30${before ? `&before=${enc(before)}` : ''}`,
  );
  document.title = `${project} · mic-fs`;
  const rows = data.heads.map((hd) =>
    h(
      'li',
      { class: 'head-row', 'data-head': hd.hash },
      h(
        'div',
        { class: 'row-main' },
        link(`${base(project)}/heads/${hd.hash}`, h('code', {}, short(hd.hash))),
        ' ',
        h('span', { class: 'goal' }, hd.goal ?? hd.message),
      ),
      h(
        'div',
        { class: 'row-meta' },
        hd.goal && hd.message !== hd.goal ? [h('span', { class: 'message' }, hd.message), ' · '] : null,
        hd.session
          ? [link(`/sessions/${enc(hd.session)}`, 'session'), hd.session_status ? [' ', statusBadge(hd.session_status)] : null, ' · ']
          : null,
        h('span', { class: 'agent' }, hd.author ?? (hd.session ? 'no agent' : 'import')),
        ' · ',
        counts(hd.summary),
        ' · ',
        h('time', { datetime: hd.time, title: hd.time }, age(hd.time)),
        ' · ',
        hd.parent ? ['parent ', link(`${base(project)}/heads/${hd.parent}`, h('code', {}, short(hd.parent)))] : 'first head',
        ' · ',
        link(pathHref(project, 'tree', hd.hash, ''), 'files'),
      ),
    ),
  );
  clear(
    root,
    crumbs(project),
    h('h1', {}, project),
    h(
      'nav',
      { class: 'subnav' },
      link(pathHref(project, 'tree', 'HEAD', ''), 'Files at HEAD'),
      ' · ',
      link(`/?project=${enc(project)}`, 'Sessions'),
    ),
    compareForm(project, data.heads[1]?.hash.slice(0, 12) ?? ''),
    h('h2', {}, 'Heads'),
    h('ol', { class: 'heads' }, ...rows),
    data.next ? h('nav', { class: 'pager' }, link(`${base(project)}?before=${data.next}`, 'older heads →')) : null,
  );
}

export async function headPage(root: HTMLElement, project: string, head: string): Promise<void> {
  const d = await get<{ head: HeadView; session: SessionView | null; summary: ChangeCounts; changes: Change[]; truncated: boolean }>(
    `/api/projects/${projPath(project)}/heads/${enc(head)}`,
  );
  const hd = d.head;
  document.title = `${short(hd.hash)} · ${project} · mic-fs`;
  clear(
    root,
    crumbs(project, hd.hash),
    h('h1', {}, hd.goal ?? hd.message),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Head'),
      h('dd', {}, h('code', {}, hd.hash)),
      h('dt', {}, 'Message'),
      h('dd', {}, hd.message),
      h('dt', {}, 'Time'),
      h('dd', {}, time(hd.time)),
      h('dt', {}, 'Parent'),
      h('dd', {}, hd.parent ? link(`${base(project)}/heads/${hd.parent}`, h('code', {}, short(hd.parent))) : 'none (first head)'),
      h('dt', {}, 'Session'),
      h(
        'dd',
        {},
        d.session ? [link(`/sessions/${enc(d.session.session_id)}`, d.session.goal), ' ', statusBadge(d.session.status)] : 'none',
      ),
    ),
    h(
      'nav',
      { class: 'subnav' },
      link(pathHref(project, 'tree', hd.hash, ''), 'Browse files'),
      hd.parent ? [' · ', link(`${base(project)}/compare?a=${hd.parent}&b=${hd.hash}`, 'Compare with parent')] : null,
    ),
    h('h2', {}, `Changes (${d.summary.total})`, ' ', counts(d.summary)),
    changeList(d.changes, { project, rawHead: hd.hash }),
    d.truncated ? h('p', { class: 'muted' }, 'Only the first 1,000 changes are listed.') : null,
  );
}

export async function treePage(root: HTMLElement, project: string, head: string, path: string): Promise<void> {
  const t = await get<TreeBody>(`/ui/api/projects/${projPath(project)}/tree/${enc(head)}?path=${enc(path)}`);
  const hh = t.head.hash;
  document.title = `${path || '/'} · ${project} · mic-fs`;
  if (t.entries) {
    const rows = t.entries.map((e) =>
      h(
        'li',
        { class: `entry ${e.kind}` },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, e.kind === 'dir' ? '▸' : e.kind === 'symlink' ? '↪' : '·'),
        ' ',
        link(pathHref(project, 'tree', hh, t.path ? `${t.path}/${e.name}` : e.name), e.name + (e.kind === 'dir' ? '/' : '')),
        h('span', { class: 'size' }, e.kind === 'file' ? size(e.size) : e.kind === 'symlink' ? `→ ${e.target ?? ''}` : ''),
        h('time', { datetime: e.mtime, class: 'muted' }, age(e.mtime)),
      ),
    );
    clear(
      root,
      crumbs(project, hh, t.path),
      h('h1', {}, t.path || project),
      h('p', { class: 'muted' }, 'Head ', h('code', {}, short(hh)), ' — ', t.head.goal ?? t.head.message),
      h(
        'ul',
        { class: 'tree' },
        t.path
          ? h('li', { class: 'entry dir' }, link(pathHref(project, 'tree', hh, t.path.split('/').slice(0, -1).join('/')), '../'))
          : null,
        ...rows,
      ),
    );
    return;
  }
  const e = t.entry;
  const raw = `/ui/raw/${projPath(project)}/${hh}?path=${enc(t.path)}`;
  const body = h('div', { class: 'file-body' });
  clear(
    root,
    crumbs(project, hh, t.path),
    h('h1', {}, e.name),
    h(
      'p',
      { class: 'file-meta' },
      `${e.kind}, ${size(e.size)}, mode ${e.mode.toString(8)} `,
      e.kind === 'file' ? [link(raw, 'Raw'), ' · ', link(pathHref(project, 'blame', hh, t.path), 'Blame'), ' · '] : null,
      link(pathHref(project, 'tree', hh, t.path.split('/').slice(0, -1).join('/')), 'Up'),
    ),
    body,
  );
  if (e.kind === 'symlink') {
    body.append(h('p', {}, `→ ${e.target ?? ''}`));
    return;
  }
  if (e.kind !== 'file') return;
  if (!e.text) {
    body.append(h('p', { class: 'muted' }, 'Binary or large file: use Raw to download it.'));
    return;
  }
  const [text, { renderFile }] = await Promise.all([e.hash ? blob(project, e.hash).then((b) => asText(b) ?? '') : '', loadCode()]);
  body.append(renderFile(text, t.path));
}

export async function blamePage(root: HTMLElement, project: string, head: string, path: string): Promise<void> {
  const [b, { highlightLines, languageOf }] = await Promise.all([
    get<BlameBody>(`/ui/api/projects/${projPath(project)}/blame/${enc(head)}?path=${enc(path)}`),
    loadCode(),
  ]);
  document.title = `blame ${b.path} · ${project} · mic-fs`;
  const lines = highlightLines(b.content, languageOf(b.path));
  const body = h('tbody');
  for (const r of b.ranges) {
    const o = b.origins[r.origin];
    for (let i = r.start; i <= r.end; i++) {
      const info =
        i === r.start
          ? h(
              'td',
              { class: 'origin', rowspan: r.end - r.start + 1 },
              link(`${base(project)}/heads/${o.head}`, h('code', {}, short(o.head).slice(0, 8))),
              ' ',
              o.session
                ? h('a', { href: `/sessions/${enc(o.session)}`, class: 'goal' }, o.goal ?? o.session)
                : h('span', { class: 'muted' }, o.message),
              o.decision && o.session
                ? h(
                    'div',
                    { class: 'decision' },
                    link(`/sessions/${enc(o.session)}#decision-${o.decision.index}`, `decision: ${o.decision.decision}`),
                  )
                : null,
              h('div', { class: 'muted' }, age(o.time)),
            )
          : null;
      body.appendChild(
        h(
          'tr',
          { 'data-origin': r.origin, class: i === r.start ? 'first' : null },
          info,
          h('td', { class: 'ln' }, String(i)),
          trustedHtml(h('td', { class: 'code' }), lines[i - 1] ?? ''),
        ),
      );
    }
  }
  clear(
    root,
    crumbs(project, b.head, b.path),
    h('h1', {}, `Blame: ${b.path}`),
    h(
      'p',
      { class: 'muted' },
      `${b.origins.length} head${b.origins.length === 1 ? '' : 's'} wrote these ${lines.length} lines.`,
      b.truncated ? ' (history walk truncated)' : '',
    ),
    h('table', { class: 'blame' }, body),
  );
}

export async function comparePage(root: HTMLElement, project: string): Promise<void> {
  const q = new URLSearchParams(location.search);
  const a = q.get('a') ?? '',
    b = q.get('b') ?? 'HEAD';
  document.title = `compare · ${project} · mic-fs`;
  if (!a) {
    clear(root, crumbs(project), h('h1', {}, 'Compare heads'), compareForm(project, a, b));
    return;
  }
  const d = await get<{ a: HeadView; b: HeadView; summary: ChangeCounts; changes: Change[]; truncated: boolean }>(
    `/ui/api/projects/${projPath(project)}/compare?a=${enc(a)}&b=${enc(b)}`,
  );
  clear(
    root,
    crumbs(project),
    h('h1', {}, 'Compare heads'),
    compareForm(project, a, b),
    h(
      'p',
      {},
      link(`${base(project)}/heads/${d.a.hash}`, h('code', {}, short(d.a.hash))),
      ` ${d.a.goal ?? d.a.message} → `,
      link(`${base(project)}/heads/${d.b.hash}`, h('code', {}, short(d.b.hash))),
      ` ${d.b.goal ?? d.b.message}`,
    ),
    h('h2', {}, `Changes (${d.summary.total}) `, counts(d.summary)),
    changeList(d.changes, { project, rawHead: d.b.hash }),
    d.truncated ? h('p', { class: 'muted' }, 'Only the first 2,000 changes are listed.') : null,
  );
}
