// A session (seed 000's "UI Display"): goal, status, project and base head, times; the conversation as a
// chat; decisions; statistics; the change list; the timeline; and, while it is live, actions and live
// updates over server-sent events as its mount is edited.
import { h, clear, link, trustedHtml } from '../dom.js';
import { get, enc, projPath } from '../api.js';
import { changeBadge, localTime, short, size, statusBadge, time } from '../format.js';
import { changeList, type Change } from '../change-list.js';
import { actionsPanel } from '../actions.js';
import type { SessionPageBody, TimelineEvent } from '../types.js';

type Markdown = typeof import('../markdown.js');
let markdown: Promise<Markdown> | null = null;
/** A turn with no markdown syntax renders as one paragraph of text, as marked would: the parser (a chunk
 *  of its own) is loaded only for a conversation that needs it. */
const plain = (t: string) => !/[\n*_`#[\]<>|~\\&!:]|www\./i.test(t) && !/^\s*(?:[-+=]|\d+[.)])/.test(t);

function timelineText(e: TimelineEvent): (Node | string)[] {
  switch (e.type) {
    case 'started':
      return ['started on head ', h('code', {}, short(e.head))];
    case 'status':
      return [`status ${e.from ?? ''} → ${e.status}`];
    case 'conversation':
      return [`message from ${e.role}`];
    case 'decision':
      return ['decision: ', h('span', {}, e.decision ?? '')];
    case 'file':
      return [changeBadge(e.change_type ?? 'modified'), ' ', h('span', { class: 'path' }, e.path ?? '')];
    case 'landed':
      return ['landed as head ', h('code', {}, short(e.head)), e.message ? ` — ${e.message}` : ''];
    case 'land_conflict':
      return [`landing met ${e.conflicts} conflict(s)`];
    case 'rebased':
      return ['rebased onto ', h('code', {}, short(e.head)), e.conflicts ? `, ${e.conflicts} conflict(s)` : ''];
    case 'handed_off':
      return [`handed off by ${e.node ?? ''}`];
    case 'served':
      return [`served by ${e.node ?? ''}`];
    case 'metadata':
      return ['metadata changed'];
    case 'mounted':
    case 'unmounted':
      return [
        `${e.type} by `,
        h('code', {}, e.client ?? '?'),
        e.path ? ` (directory ${e.path})` : '',
        e.reason === 'gone' ? ' (gone: no connection)' : '',
      ];
    default:
      return [e.type];
  }
}

export async function sessionPage(root: HTMLElement, id: string): Promise<() => void> {
  const open = new Set<string>();
  const sections = {
    header: h('header', { class: 'session-head' }),
    actions: h('div'),
    result: h('div', { class: 'result', role: 'status', 'aria-live': 'polite' }),
    stats: h('section', { class: 'stats', 'aria-label': 'statistics' }),
    conversation: h('section', { class: 'conversation', 'aria-label': 'conversation' }),
    decisions: h('section', { class: 'decisions', 'aria-label': 'decisions' }),
    changes: h('section', { class: 'changes-section', 'aria-label': 'changes' }),
    timeline: h('section', { class: 'timeline', 'aria-label': 'timeline' }),
  };
  let lastStatus = '';
  let timelineShown = 50;
  let es: EventSource | null = null;

  const render = async () => {
    // one answer for the page (src/ui/session-data.ts), asked for by the HTML already (a preload link)
    const page = await get<SessionPageBody>(`/ui/api/sessions/${enc(id)}`);
    const s = page.session;
    const changes: Change[] = page.changes;
    const md = s.conversation.some((m) => !plain(m.content)) ? await (markdown ??= import('../markdown.js')) : null;
    performance.mark('mic:session-data');
    document.title = `${s.goal} · mic-fs`;
    const proj = `/projects/${projPath(s.project)}`;
    clear(
      sections.header,
      h('p', { class: 'crumbs' }, link('/', 'Sessions'), ' / ', link(proj, s.project), ' / ', h('code', {}, s.session_id)),
      h('h1', { class: 'goal' }, s.goal),
      s.description ? h('p', { class: 'description' }, s.description) : null,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Status'),
        h('dd', {}, statusBadge(s.status), es ? h('span', { class: 'live', title: 'updates live' }, ' ● live') : null),
        h('dt', {}, 'Project'),
        h('dd', {}, link(proj, s.project)),
        h('dt', {}, 'Base head'),
        h('dd', {}, link(`${proj}/tree/${s.base_head}`, h('code', {}, short(s.base_head)))),
        s.landed_head
          ? [h('dt', {}, 'Landed head'), h('dd', {}, link(`${proj}/heads/${s.landed_head}`, h('code', {}, short(s.landed_head))))]
          : null,
        h('dt', {}, 'Started'),
        h('dd', {}, time(s.started_at)),
        h('dt', {}, s.status === 'abandoned' ? 'Ended' : 'Landed'),
        h('dd', {}, time(s.status === 'abandoned' ? s.ended_at : s.landed_at)),
        s.agent ? [h('dt', {}, 'Agent'), h('dd', {}, s.agent)] : null,
        s.export ? [h('dt', {}, 'Export'), h('dd', {}, h('code', {}, s.export))] : null,
        s.tags.length ? [h('dt', {}, 'Tags'), h('dd', {}, ...s.tags.map((t: string) => h('span', { class: 'tag' }, t)))] : null,
        s.message ? [h('dt', {}, 'Message'), h('dd', {}, s.message)] : null,
      ),
    );

    const lines = changes.reduce((a, c) => ({ added: a.added + (c.lines_added ?? 0), removed: a.removed + (c.lines_removed ?? 0) }), {
      added: 0,
      removed: 0,
    });
    const sum = page.summary;
    const stat = (label: string, value: string | number, cls: string) =>
      h(
        'div',
        { class: `stat ${cls}`, 'data-stat': cls },
        h('span', { class: 'value' }, String(value)),
        h('span', { class: 'label' }, label),
      );
    clear(
      sections.stats,
      h('h2', {}, 'Statistics'),
      h(
        'div',
        { class: 'stat-grid' },
        stat('files changed', sum.total, 'total'),
        stat('added', sum.added, 'added'),
        stat('modified', sum.modified, 'modified'),
        stat('deleted', sum.deleted, 'deleted'),
        stat('lines added', `+${lines.added}`, 'lines-added'),
        stat('lines removed', `−${lines.removed}`, 'lines-removed'),
        stat('bytes now', size(changes.reduce((a, c) => a + (c.change_type === 'deleted' ? 0 : c.size), 0)), 'bytes'),
      ),
    );

    clear(
      sections.conversation,
      h('h2', {}, `Conversation (${s.conversation.length})`),
      s.conversation.length
        ? h(
            'ol',
            { class: 'chat' },
            ...s.conversation.map((m) =>
              h(
                'li',
                { class: `turn role-${/^[a-z]+$/.test(m.role) ? m.role : 'other'}`, 'data-role': m.role },
                h(
                  'div',
                  { class: 'who' },
                  h('span', { class: 'role' }, m.role),
                  ' ',
                  h('time', { datetime: m.time, title: m.time }, localTime(m.time, { date: false, seconds: true })),
                ),
                md
                  ? trustedHtml(h('div', { class: 'md' }), md.renderMarkdown(m.content))
                  : h('div', { class: 'md' }, m.content.trim() ? h('p', {}, m.content.trim()) : null),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No conversation recorded.'),
    );
    if (md) void md.colourBlocks(sections.conversation);

    clear(
      sections.decisions,
      h('h2', {}, `Decisions (${s.decisions.length})`),
      s.decisions.length
        ? h(
            'ol',
            { class: 'decision-list' },
            ...s.decisions.map((d, i) =>
              h(
                'li',
                { id: `decision-${i}`, class: 'decision' },
                h('p', { class: 'what' }, d.decision),
                d.reasoning ? h('p', { class: 'why' }, d.reasoning) : null,
                h('time', { datetime: d.time, class: 'muted' }, localTime(d.time)),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No decisions recorded.'),
    );

    clear(
      sections.changes,
      h('h2', {}, `Changes (${changes.length})`),
      changeList(changes, {
        project: s.project,
        rawHead: s.status === 'landed' ? s.landed_head : null,
        open,
        previous: sections.changes.querySelector<HTMLElement>('ul.changes'),
      }),
    );

    const tl = [...(s.timeline ?? [])].reverse();
    const events = h('ol', { class: 'events' });
    let shown = 0;
    const more = h('button', { type: 'button', class: 'more' });
    const showMore = (n: number) => {
      const frag = document.createDocumentFragment();
      for (const e of tl.slice(shown, shown + n)) {
        frag.appendChild(
          h(
            'li',
            { 'data-type': e.type },
            h('time', { datetime: e.time, title: e.time }, e.time.slice(0, 19).replace('T', ' ')),
            ' ',
            ...timelineText(e),
          ),
        );
      }
      events.appendChild(frag);
      shown = Math.min(tl.length, shown + n);
      more.textContent = `Show ${Math.min(500, tl.length - shown)} older events (${tl.length - shown} in all)`;
      more.hidden = shown >= tl.length;
    };
    more.addEventListener('click', () => showMore(500));
    showMore(timelineShown);
    more.addEventListener('click', () => {
      timelineShown = shown;
    });
    clear(sections.timeline, h('h2', {}, `Timeline (${tl.length})`), events, more);

    if (s.status !== lastStatus) {
      lastStatus = s.status;
      clear(sections.actions, actionsPanel({ session: s, refresh: () => refresh(), result: sections.result }));
      const live = s.status === 'active' || s.status === 'suspended';
      if (live && !es) listen();
      if (!live && es) {
        es.close();
        es = null;
        delete root.dataset.live;
      }
    }
    root.dataset.version = String(Number(root.dataset.version ?? 0) + 1);
    performance.mark('mic:session-rendered');
  };

  // one refresh at a time; events during one schedule another
  let running: Promise<void> | null = null;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await render();
        } catch (e) {
          console.warn('refresh failed', e);
        }
        if (again) await new Promise((r) => setTimeout(r, 250)); // a busy mount: at most about 4 re-reads a second
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const listen = () => {
    es = new EventSource(`/ui/api/events?session=${enc(id)}`);
    es.addEventListener('change', () => void refresh());
    es.addEventListener('open', () => {
      root.dataset.live = 'connected';
    });
    es.addEventListener('error', () => {
      root.dataset.live = 'reconnecting';
    });
  };

  clear(
    root,
    sections.header,
    sections.actions,
    sections.result,
    sections.stats,
    sections.conversation,
    sections.decisions,
    sections.changes,
    sections.timeline,
  );
  await render();
  return () => {
    es?.close();
    es = null;
    delete root.dataset.live;
    delete root.dataset.version;
  };
}
