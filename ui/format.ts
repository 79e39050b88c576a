import { h } from './dom.js';

export function size(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024,
    i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${u[i]}`;
}

export function age(iso: string | null | undefined): string {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 86400 * 60) return `${Math.floor(s / 86400)}d ago`;
  return new Date(iso).toISOString().slice(0, 10);
}

const two = (n: number) => String(n).padStart(2, '0');

/** "2026-12-01 09:57" in the viewer's time zone (or only "09:57"). Written out by hand: the first
 *  toLocaleString() of a page loads the locale data, about 20 ms of the session page's first paint. */
export function localTime(iso: string, o: { date?: boolean; seconds?: boolean } = {}): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const t = `${two(d.getHours())}:${two(d.getMinutes())}${o.seconds ? `:${two(d.getSeconds())}` : ''}`;
  return o.date === false ? t : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${t}`;
}

export function time(iso: string | null | undefined): HTMLElement {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: iso }, `${localTime(iso)} (${age(iso)})`);
}

export const short = (hash: string | null | undefined) => (hash ? hash.slice(0, 12) : '');

const BADGE: Record<string, string> = { added: '+', modified: '~', deleted: '−' };

/** The change-type badge of seed 000 (+ ~ −), with its name for screen readers. */
export function changeBadge(t: string): HTMLElement {
  return h('span', { class: `badge change ${t}`, title: t, 'aria-label': t, 'data-change': t }, BADGE[t] ?? '?');
}

export function statusBadge(s: string): HTMLElement {
  return h('span', { class: `badge status ${s}`, 'data-status': s }, s);
}

export function counts(c: { added: number; modified: number; deleted: number }): HTMLElement {
  return h(
    'span',
    { class: 'counts', title: `${c.added} added, ${c.modified} modified, ${c.deleted} deleted` },
    h('span', { class: 'added' }, `+${c.added}`),
    ' ',
    h('span', { class: 'modified' }, `~${c.modified}`),
    ' ',
    h('span', { class: 'deleted' }, `−${c.deleted}`),
  );
}
