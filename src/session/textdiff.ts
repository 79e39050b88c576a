// Line diffs for text files: Myers' O((N+M)D) algorithm after trimming the common prefix and suffix,
// with a bound on D so that a pathological pair degrades to "all removed, all added" instead of stalling.

export type Op = { t: '=' | '-' | '+'; line: string };

/** Text: at most 1 MiB, no NUL byte in the first 8 KiB, valid UTF-8. */
export function isText(b: Buffer): boolean {
  if (b.length > 1024 * 1024) return false;
  if (b.subarray(0, 8192).includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

export function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const MAX_D = 2000;

/** The edit script turning a into b. */
export function diffLines(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  const mid = myers(A, B) ?? [...A.map((line) => ({ t: '-' as const, line })), ...B.map((line) => ({ t: '+' as const, line }))];
  return [
    ...a.slice(0, pre).map((line) => ({ t: '=' as const, line })),
    ...mid,
    ...a.slice(a.length - suf).map((line) => ({ t: '=' as const, line })),
  ];
}

function myers(a: string[], b: string[]): Op[] | null {
  const n = a.length,
    m = b.length;
  if (n === 0) return b.map((line) => ({ t: '+', line }));
  if (m === 0) return a.map((line) => ({ t: '-', line }));
  const max = Math.min(n + m, MAX_D);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found >= 0) break;
  }
  if (found < 0) return null;
  // backtrack
  const ops: Op[] = [];
  let x = n,
    y = m;
  for (let d = found; d > 0; d--) {
    const vd = trace[d]; // v before step d, indices k in [-d-1, d+1] stored at k + d + 1
    const get = (k: number) => vd[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && get(k - 1) < get(k + 1)) ? k + 1 : k - 1;
    const prevX = get(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ t: '=', line: a[x - 1] });
      x--;
      y--;
    }
    if (x === prevX) {
      ops.push({ t: '+', line: b[y - 1] });
      y--;
    } else {
      ops.push({ t: '-', line: a[x - 1] });
      x--;
    }
  }
  while (x > 0 && y > 0) {
    ops.push({ t: '=', line: a[x - 1] });
    x--;
    y--;
  }
  return ops.reverse();
}

export function countLines(ops: Op[]): { added: number; removed: number } {
  let added = 0,
    removed = 0;
  for (const o of ops) {
    if (o.t === '+') added++;
    else if (o.t === '-') removed++;
  }
  return { added, removed };
}

/** A unified diff (git style headers) of one file; '' when equal. */
export function unifiedDiff(path: string, before: string | null, after: string | null, context = 3): string {
  const ops = diffLines(splitLines(before ?? ''), splitLines(after ?? ''));
  if (!ops.some((o) => o.t !== '=')) return '';
  const head = [
    `diff --mic a/${path} b/${path}`,
    before === null ? '--- /dev/null' : `--- a/${path}`,
    after === null ? '+++ /dev/null' : `+++ b/${path}`,
  ];
  const out: string[] = [...head];
  // group changes with their context into hunks
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i].t === '=') i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    // extend while the next change is within 2*context
    for (;;) {
      while (end < ops.length && ops[end].t !== '=') end++;
      let j = end;
      while (j < ops.length && ops[j].t === '=' && j - end < 2 * context) j++;
      if (j < ops.length && ops[j].t !== '=' && j - end <= 2 * context) {
        end = j;
        continue;
      }
      break;
    }
    const stop = Math.min(ops.length, end + context);
    // line numbers at start
    let aLine = 1,
      bLine = 1;
    for (let k = 0; k < start; k++) {
      if (ops[k].t !== '+') aLine++;
      if (ops[k].t !== '-') bLine++;
    }
    let aCount = 0,
      bCount = 0;
    const body: string[] = [];
    for (let k = start; k < stop; k++) {
      const o = ops[k];
      if (o.t !== '+') aCount++;
      if (o.t !== '-') bCount++;
      body.push((o.t === '=' ? ' ' : o.t) + o.line);
    }
    out.push(`@@ -${aCount ? aLine : aLine - 1},${aCount} +${bCount ? bLine : bLine - 1},${bCount} @@`, ...body);
    i = stop;
  }
  return out.join('\n') + '\n';
}
