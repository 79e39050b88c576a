// Git path bytes <-> mic-fs names. Git names are bytes; mic-fs names are UTF-8 strings. A name that is
// not valid UTF-8 keeps each undecodable byte b as the private-use character U+EF00+b (the scheme of
// MirBSD's OPTU-8), so export writes the original bytes back. Names that already use U+EF80..U+EFFF are
// the one ambiguity: they export as the bytes they stand for.
const PUA = 0xef00;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** One path component's bytes as a mic-fs name. */
export function nameOf(bytes: Buffer): string {
  try {
    const s = decoder.decode(bytes);
    if (!/[\uef80-\uefff]/.test(s)) return s;
  } catch {
    /* not UTF-8: escape below */
  }
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const n = utf8Len(bytes, i);
    if (n > 0) {
      const s = bytes.toString('utf8', i, i + n);
      if (!/[\uef80-\uefff]/.test(s)) {
        out += s;
        i += n;
        continue;
      }
    }
    out += String.fromCharCode(PUA + bytes[i]!);
    i++;
  }
  return out;
}

/** Length of a valid UTF-8 sequence at i, or 0. */
function utf8Len(b: Buffer, i: number): number {
  const c = b[i]!;
  const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  try {
    decoder.decode(b.subarray(i, i + n));
    return n;
  } catch {
    return 0;
  }
}

/** A mic-fs name (or symlink target) back to git's bytes. */
export function bytesOf(name: string): Buffer {
  if (!/[\uef80-\uefff]/.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c >= PUA + 0x80 && c <= PUA + 0xff) {
      if (run) {
        parts.push(Buffer.from(run, 'utf8'));
        run = '';
      }
      parts.push(Buffer.of(c - PUA));
    } else run += ch;
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

const ESC: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34 };

/** A path as fast-export writes it: raw bytes, or C-style quoted ("...", \ooo escapes). */
export function unquotePath(raw: Buffer): Buffer {
  if (raw[0] !== 34) return raw;
  const out: number[] = [];
  for (let i = 1; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 34) break;
    if (c !== 92) {
      out.push(c);
      continue;
    }
    const n = raw[++i]!;
    if (n >= 48 && n <= 55) {
      out.push(parseInt(raw.toString('latin1', i, i + 3), 8));
      i += 2;
    } else out.push(ESC[String.fromCharCode(n)] ?? n);
  }
  return Buffer.from(out);
}

/** A path for fast-import: quoted when it must be (starts with '"', holds LF or backslash-sensitive bytes). */
export function quotePath(p: Buffer): Buffer {
  if (p[0] !== 34 && !p.includes(10) && !p.includes(92) && !p.includes(34)) return p;
  let s = '"';
  for (const c of p) {
    if (c === 34) s += '\\"';
    else if (c === 92) s += '\\\\';
    else if (c < 32 || c >= 127) s += '\\' + c.toString(8).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return Buffer.from(s + '"', 'latin1');
}

/** Splits a git path into mic-fs names. */
export function namesOf(path: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 47) {
      if (i > start) out.push(nameOf(path.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}
