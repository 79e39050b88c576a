// A list of file changes (a session's, a head's, or between two heads): badge, path, size and lines,
// each row expandable to the diff (unified or side by side) or the content. Content is fetched on expand.
import { h, clear } from './dom.js';
import { asText, blob, projPath, enc } from './api.js';
import { changeBadge, size } from './format.js';
import { renderDiff, renderFile } from './diff-view.js';

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
const MAX_DIFF_BYTES = 2 * 1024 * 1024;

async function version(project: string, hash: string | null, kind: string, target?: string): Promise<{ text: string | null; bytes: number }> {
  if (kind === 'symlink') return { text: `-> ${target ?? ''}\n`, bytes: 0 };
  if (!hash) return { text: '', bytes: 0 };
  const b = await blob(project, hash);
  return { text: asText(b), bytes: b.length };
}

function viewer(project: string, c: Change, rawHref: string | null): HTMLElement {
  const box = h('div', { class: 'viewer', role: 'region', 'aria-label': `${c.change_type} ${c.path}` });
  const out = h('div', { class: 'viewer-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const initial: View = c.change_type === 'added' ? 'content' : 'unified';
  const tabs = (['unified', 'split', 'content'] as View[]).map((v) => h('button', {
    type: 'button', class: 'tab', 'data-view': v, 'aria-pressed': String(v === initial),
    onclick: () => void show(v),
  }, v === 'unified' ? 'Unified' : v === 'split' ? 'Side by side' : c.change_type === 'deleted' ? 'Old content' : 'Content'));
  box.append(h('div', { class: 'tabs', role: 'toolbar' }, ...tabs, rawHref ? h('a', { class: 'raw', href: rawHref, download: '' }, 'Download') : null), out);
  let versions: Promise<[Awaited<ReturnType<typeof version>>, Awaited<ReturnType<typeof version>>]> | null = null;
  const show = async (v: View) => {
    for (const t of tabs) t.setAttribute('aria-pressed', String(t.dataset.view === v));
    if (c.kind === 'dir') { clear(out, h('p', { class: 'muted' }, 'An empty directory.')); return; }
    if (c.size > MAX_DIFF_BYTES) { clear(out, h('p', { class: 'muted' }, `Too large to show here (${size(c.size)}).`)); return; }
    versions ??= Promise.all([
      c.change_type === 'added' ? version(project, null, 'file') : version(project, c.previous_hash, c.kind, c.target),
      c.change_type === 'deleted' ? version(project, null, 'file') : version(project, c.hash, c.kind, c.target),
    ]);
    try {
      const [before, after] = await versions;
      if ((c.change_type !== 'added' && before.text === null) || (c.change_type !== 'deleted' && after.text === null)) {
        clear(out, h('p', { class: 'muted' }, `Binary file (${size(c.change_type === 'deleted' ? before.bytes : after.bytes)}).`));
        return;
      }
      if (v === 'content') clear(out, renderFile((c.change_type === 'deleted' ? before.text : after.text) ?? '', c.path));
      else clear(out, renderDiff(c.change_type === 'added' ? null : before.text, c.change_type === 'deleted' ? null : after.text, c.path, v));
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
}

export function changeList(changes: Change[], o: ChangeListOptions): HTMLElement {
  const open = o.open ?? new Set<string>();
  const list = h('ul', { class: 'changes' });
  for (const c of changes) {
    const id = `change-${++seq}`;
    const lines = c.lines_added !== null ? h('span', { class: 'lines' }, h('span', { class: 'added' }, `+${c.lines_added}`), ' ', h('span', { class: 'deleted' }, `−${c.lines_removed}`)) : c.binary ? h('span', { class: 'lines muted' }, 'binary') : null;
    const btn = h('button', { type: 'button', class: 'toggle', 'aria-expanded': 'false', 'aria-controls': id },
      changeBadge(c.change_type), h('span', { class: 'path' }, c.path), h('span', { class: 'size' }, c.kind === 'file' ? size(c.size) : c.kind), lines);
    const li = h('li', { class: `change ${c.change_type}`, 'data-path': c.path, 'data-change': c.change_type }, btn);
    const rawHref = c.change_type !== 'deleted' && c.kind === 'file' && c.hash
      ? (o.rawHead ? `/ui/raw/${projPath(o.project)}/${enc(o.rawHead)}?path=${enc(c.path)}` : `/api/projects/${projPath(o.project)}/blobs/${c.hash}`)
      : null;
    let box: HTMLElement | null = null;
    const toggle = (to: boolean) => {
      btn.setAttribute('aria-expanded', String(to));
      if (to) {
        open.add(c.path);
        box ??= viewer(o.project, c, rawHref);
        box.id = id;
        li.appendChild(box);
      } else {
        open.delete(c.path);
        box?.remove();
      }
    };
    btn.addEventListener('click', () => toggle(btn.getAttribute('aria-expanded') !== 'true'));
    if (open.has(c.path)) toggle(true);
    list.appendChild(li);
  }
  if (!changes.length) list.appendChild(h('li', { class: 'muted empty' }, 'No changes.'));
  return list;
}
