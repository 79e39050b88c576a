// A list of file changes (a session's, a head's, or between two heads): badge, path, size and lines,
// each row expandable to the diff (unified or side by side) or the content. Content is fetched on expand.
import { h, clear, loadCode } from './dom.js';
import { asText, blob, projPath, enc } from './api.js';
import { changeBadge, size } from './format.js';

export interface Change {
  path: string;
  change_type: 'added' | 'modified' | 'deleted';
  kind: string;
  size: number;
  mode: number;
  hash: string | null;
  previous_hash: string | null;
  target?: string;
  binary: boolean;
  lines_added: number | null;
  lines_removed: number | null;
}

type View = 'unified' | 'split' | 'content';

let seq = 0;
/** rows drawn before the list is shown (more than a tall screen holds), then per task */
const FIRST_SCREEN = 60;
const SLICE = 200;
const MAX_DIFF_BYTES = 2 * 1024 * 1024;

async function version(
  project: string,
  hash: string | null,
  kind: string,
  target?: string,
): Promise<{ text: string | null; bytes: number }> {
  if (kind === 'symlink') return { text: `-> ${target ?? ''}\n`, bytes: 0 };
  if (!hash) return { text: '', bytes: 0 };
  const b = await blob(project, hash);
  return { text: asText(b), bytes: b.length };
}

function viewer(project: string, c: Change, rawHref: string | null): HTMLElement {
  const box = h('div', { class: 'viewer', role: 'region', 'aria-label': `${c.change_type} ${c.path}` });
  const out = h('div', { class: 'viewer-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const initial: View = c.change_type === 'added' ? 'content' : 'unified';
  const tabs = (['unified', 'split', 'content'] as View[]).map((v) =>
    h(
      'button',
      {
        type: 'button',
        class: 'tab',
        'data-view': v,
        'aria-pressed': String(v === initial),
        onclick: () => void show(v),
      },
      v === 'unified' ? 'Unified' : v === 'split' ? 'Side by side' : c.change_type === 'deleted' ? 'Old content' : 'Content',
    ),
  );
  box.append(
    h(
      'div',
      { class: 'tabs', role: 'toolbar' },
      ...tabs,
      rawHref ? h('a', { class: 'raw', href: rawHref, download: '' }, 'Download') : null,
    ),
    out,
  );
  let versions: Promise<[Awaited<ReturnType<typeof version>>, Awaited<ReturnType<typeof version>>]> | null = null;
  const show = async (v: View) => {
    for (const t of tabs) t.setAttribute('aria-pressed', String(t.dataset.view === v));
    if (c.kind === 'dir') {
      clear(out, h('p', { class: 'muted' }, 'An empty directory.'));
      return;
    }
    if (c.size > MAX_DIFF_BYTES) {
      clear(out, h('p', { class: 'muted' }, `Too large to show here (${size(c.size)}).`));
      return;
    }
    versions ??= Promise.all([
      c.change_type === 'added' ? version(project, null, 'file') : version(project, c.previous_hash, c.kind, c.target),
      c.change_type === 'deleted' ? version(project, null, 'file') : version(project, c.hash, c.kind, c.target),
    ]);
    try {
      const [[before, after], { renderDiff, renderFile }] = await Promise.all([versions, loadCode()]);
      if ((c.change_type !== 'added' && before.text === null) || (c.change_type !== 'deleted' && after.text === null)) {
        clear(out, h('p', { class: 'muted' }, `Binary file (${size(c.change_type === 'deleted' ? before.bytes : after.bytes)}).`));
        return;
      }
      if (v === 'content') clear(out, renderFile((c.change_type === 'deleted' ? before.text : after.text) ?? '', c.path));
      else
        clear(out, renderDiff(c.change_type === 'added' ? null : before.text, c.change_type === 'deleted' ? null : after.text, c.path, v));
    } catch (e) {
      clear(out, h('p', { class: 'error' }, `Could not load the content: ${(e as Error).message}`));
    }
  };
  void show(initial);
  return box;
}

export interface ChangeListOptions {
  project: string;
  /** raw download of the new version: the head that holds it (null: the blob itself) */
  rawHead?: string | null;
  /** rows open at render (kept across live refreshes) */
  open?: Set<string>;
  /** the list this one replaces: its unchanged rows are moved over as they are */
  previous?: HTMLElement | null;
}

/** One row per change type, cloned: a thousand rows cost a thousand clones and text assignments. */
const templates = new Map<string, HTMLLIElement>();
function rowFor(c: Change): HTMLLIElement {
  let tpl = templates.get(c.change_type);
  if (!tpl) {
    tpl = h(
      'li',
      { class: `change ${c.change_type}`, 'data-change': c.change_type },
      h(
        'button',
        { type: 'button', class: 'toggle', 'aria-expanded': 'false' },
        changeBadge(c.change_type),
        h('span', { class: 'path' }),
        h('span', { class: 'size' }),
        h('span', { class: 'lines' }, h('span', { class: 'added' }), ' ', h('span', { class: 'deleted' })),
      ),
    );
    templates.set(c.change_type, tpl);
  }
  const li = tpl.cloneNode(true) as HTMLLIElement;
  li.dataset.path = c.path;
  const [, path, sz, lines] = li.firstElementChild!.children as unknown as HTMLElement[];
  path.textContent = c.path;
  sz.textContent = c.kind === 'file' ? size(c.size) : c.kind;
  if (c.lines_added !== null) {
    (lines.firstChild as HTMLElement).textContent = `+${c.lines_added}`;
    (lines.lastChild as HTMLElement).textContent = `−${c.lines_removed}`;
  } else if (c.binary) {
    lines.textContent = 'binary';
    lines.classList.add('muted');
  } else lines.remove();
  return li;
}

/** What a drawn row shows: a row whose key is unchanged is moved into the next list as it is (open,
 *  with its content already shown), so a live refresh redraws only what changed. */
interface Row {
  key: string;
  c: Change;
  box?: HTMLElement;
}
const drawn = new WeakMap<HTMLLIElement, Row>();
const keyOf = (c: Change, o: ChangeListOptions) =>
  JSON.stringify([
    o.project,
    o.rawHead ?? null,
    c.path,
    c.change_type,
    c.kind,
    c.size,
    c.hash,
    c.previous_hash,
    c.target ?? null,
    c.lines_added,
    c.lines_removed,
  ]);

export function changeList(changes: Change[], o: ChangeListOptions): HTMLElement {
  const open = o.open ?? new Set<string>();
  const list = h('ul', { class: 'changes' });
  const reusable = new Map<string, HTMLLIElement>();
  for (const li of o.previous?.querySelectorAll<HTMLLIElement>(':scope > li.change') ?? []) {
    const row = drawn.get(li);
    if (row) reusable.set(row.key, li);
  }
  const toggle = (li: HTMLLIElement, to: boolean) => {
    const row = drawn.get(li)!;
    const c = row.c;
    const btn = li.firstElementChild as HTMLButtonElement;
    btn.setAttribute('aria-expanded', String(to));
    li.classList.toggle('open', to);
    if (to) {
      open.add(c.path);
      if (!row.box) {
        const rawHref =
          c.change_type !== 'deleted' && c.kind === 'file' && c.hash
            ? o.rawHead
              ? `/ui/raw/${projPath(o.project)}/${enc(o.rawHead)}?path=${enc(c.path)}`
              : `/api/projects/${projPath(o.project)}/blobs/${c.hash}`
            : null;
        row.box = viewer(o.project, c, rawHref);
        row.box.id = `change-${++seq}`;
        btn.setAttribute('aria-controls', row.box.id);
      }
      li.appendChild(row.box);
    } else {
      open.delete(c.path);
      row.box?.remove();
    }
  };
  // one listener for the whole list
  list.addEventListener('click', (e) => {
    const btn = (e.target as Element).closest('button.toggle');
    const li = btn?.parentElement as HTMLLIElement | null;
    if (!btn || !li || li.parentElement !== list || !drawn.has(li)) return;
    toggle(li, btn.getAttribute('aria-expanded') !== 'true');
  });
  // the first screen at once, the rest in slices of their own tasks: a thousand rows never hold up the
  // first paint or a click (the list is aria-busy until its last row is in; a list replaced stops filling)
  let next = 0;
  let shown = false;
  const fill = (n: number) => {
    const frag = document.createDocumentFragment();
    const end = Math.min(changes.length, next + n);
    for (; next < end; next++) {
      const c = changes[next]!;
      const key = keyOf(c, o);
      let li = reusable.get(key);
      if (li) reusable.delete(key);
      else {
        li = rowFor(c);
        drawn.set(li, { key, c });
      }
      frag.appendChild(li);
      const isOpen = li.classList.contains('open');
      if (open.has(c.path) !== isOpen) toggle(li, !isOpen);
    }
    list.appendChild(frag);
    if (next < changes.length) {
      list.setAttribute('aria-busy', 'true');
      setTimeout(() => {
        shown ||= list.isConnected;
        if (list.isConnected || !shown) fill(SLICE);
      }, 0);
    } else list.removeAttribute('aria-busy');
  };
  fill(FIRST_SCREEN);
  if (!changes.length) list.appendChild(h('li', { class: 'muted empty' }, 'No changes.'));
  return list;
}
