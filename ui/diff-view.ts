// Diffs with jsdiff: unified or side by side, in hunks with three lines of context, coloured by
// highlight.js over each whole version (so strings and comments that span lines keep their colour).
import { diffLines } from 'diff';
import { h, trustedHtml } from './dom.js';
import { highlightLines, languageOf } from './highlight.js';

export { highlightCode, highlightLines, languageOf } from './highlight.js';

interface Row {
  t: ' ' | '-' | '+';
  a: number;
  b: number;
}

const CONTEXT = 3;

function splitLines(s: string): string[] {
  if (s === '') return [];
  const l = s.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

function rowsOf(before: string, after: string): Row[] {
  const rows: Row[] = [];
  let a = 0,
    b = 0;
  for (const part of diffLines(before, after)) {
    const n = part.count ?? splitLines(part.value).length;
    for (let i = 0; i < n; i++) {
      if (part.added) rows.push({ t: '+', a: -1, b: b++ });
      else if (part.removed) rows.push({ t: '-', a: a++, b: -1 });
      else rows.push({ t: ' ', a: a++, b: b++ });
    }
  }
  return rows;
}

/** Hunks: runs of rows with changes and CONTEXT lines around them; gaps are the hidden lines between. */
function hunks(rows: Row[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let i = 0;
  while (i < rows.length) {
    if (rows[i].t === ' ') {
      i++;
      continue;
    }
    const start = Math.max(out.length ? out[out.length - 1].end : 0, i - CONTEXT);
    let j = i;
    for (;;) {
      while (j < rows.length && rows[j].t !== ' ') j++; // end of this run of changes
      let k = j;
      while (k < rows.length && rows[k].t === ' ') k++; // next change
      if (k < rows.length && k - j <= 2 * CONTEXT) {
        j = k;
        continue;
      }
      break;
    }
    const end = Math.min(rows.length, j + CONTEXT);
    out.push({ start, end });
    i = end;
  }
  return out;
}

export interface DiffStats {
  added: number;
  removed: number;
}

export function renderDiff(before: string | null, after: string | null, path: string, mode: 'unified' | 'split'): HTMLElement {
  const a = before ?? '',
    b = after ?? '';
  const rows = rowsOf(a, b);
  const lang = rows.length <= 20_000 ? languageOf(path) : null;
  const ha = highlightLines(a, lang),
    hb = highlightLines(b, lang);
  const code = (html: string | undefined) => trustedHtml(h('td', { class: 'code' }), html ?? '');
  const num = (n: number) => h('td', { class: 'ln' }, n >= 0 ? String(n + 1) : '');
  const table = h('table', { class: `diff ${mode}`, 'data-mode': mode });
  const body = h('tbody');
  table.appendChild(body);
  const hs = hunks(rows);
  if (!hs.length) {
    body.appendChild(
      h(
        'tr',
        { class: 'gap' },
        h('td', { colspan: mode === 'split' ? 4 : 3 }, before === after ? 'No textual changes' : 'Only the file mode changed'),
      ),
    );
    return table;
  }
  let prevEnd = 0;
  for (const hk of hs) {
    const first = rows[hk.start];
    const hidden = hk.start - prevEnd;
    const label = `@@ -${first.a >= 0 ? first.a + 1 : rowsBefore(rows, hk.start, 'a')} +${first.b >= 0 ? first.b + 1 : rowsBefore(rows, hk.start, 'b')} @@${hidden ? ` · ${hidden} unchanged line${hidden === 1 ? '' : 's'} above` : ''}`;
    body.appendChild(h('tr', { class: 'hunk' }, h('td', { colspan: mode === 'split' ? 4 : 3 }, label)));
    if (mode === 'unified') {
      for (let i = hk.start; i < hk.end; i++) {
        const r = rows[i];
        const cls = r.t === '+' ? 'add' : r.t === '-' ? 'del' : 'ctx';
        const tr = h('tr', { class: cls }, num(r.a), num(r.b), code(r.t === '+' ? hb[r.b] : ha[r.a]));
        tr.lastElementChild!.setAttribute('data-sign', r.t);
        body.appendChild(tr);
      }
    } else {
      let i = hk.start;
      while (i < hk.end) {
        if (rows[i].t === ' ') {
          const r = rows[i++];
          body.appendChild(h('tr', { class: 'ctx' }, num(r.a), code(ha[r.a]), num(r.b), code(hb[r.b])));
          continue;
        }
        const dels: Row[] = [],
          adds: Row[] = [];
        while (i < hk.end && rows[i].t === '-') dels.push(rows[i++]);
        while (i < hk.end && rows[i].t === '+') adds.push(rows[i++]);
        for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
          const d = dels[k],
            ad = adds[k];
          const left = d ? [num(d.a), code(ha[d.a])] : [h('td', { class: 'ln empty' }), h('td', { class: 'code empty' })];
          const right = ad ? [num(ad.b), code(hb[ad.b])] : [h('td', { class: 'ln empty' }), h('td', { class: 'code empty' })];
          const tr = h('tr', { class: 'pair' }, ...left, ...right);
          if (d) {
            tr.children[0].classList.add('del');
            tr.children[1].classList.add('del');
          }
          if (ad) {
            tr.children[2].classList.add('add');
            tr.children[3].classList.add('add');
          }
          body.appendChild(tr);
        }
      }
    }
    prevEnd = hk.end;
  }
  if (prevEnd < rows.length) {
    const n = rows.length - prevEnd;
    body.appendChild(
      h('tr', { class: 'gap' }, h('td', { colspan: mode === 'split' ? 4 : 3 }, `${n} unchanged line${n === 1 ? '' : 's'} below`)),
    );
  }
  return table;
}

function rowsBefore(rows: Row[], i: number, side: 'a' | 'b'): number {
  let n = 0;
  for (let k = 0; k < i; k++) if (rows[k][side] >= 0) n++;
  return n;
}

/** A whole file, highlighted, with line numbers. */
export function renderFile(text: string, path: string): HTMLElement {
  const lines = highlightLines(text, text.length <= 2 * 1024 * 1024 ? languageOf(path) : null);
  const body = h('tbody');
  lines.forEach((l, i) =>
    body.appendChild(h('tr', { id: `L${i + 1}` }, h('td', { class: 'ln' }, String(i + 1)), trustedHtml(h('td', { class: 'code' }), l))),
  );
  return h('table', { class: 'file' }, body);
}
