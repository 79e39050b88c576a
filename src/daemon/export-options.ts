// Export options in the vocabulary of knfsd's exports(5), for every session export:
//   secure | insecure            calls only from privileged source ports (< 1024), or from any
//   root_squash | no_root_squash map uid 0 and gid 0 to anonuid/anongid, or trust them
//   all_squash | no_all_squash   map every uid and gid to anonuid/anongid
//   anonuid=N, anongid=N         the anonymous user (default 65534, nobody)
// Defaults: insecure,no_root_squash (see docs/security.md for why, and when to change them).
import type { Squash } from '../nfs/squash.js';

export interface ExportOptions extends Squash {
  secure: boolean;
}

export const DEFAULT_EXPORT_OPTIONS: ExportOptions = { secure: false, mode: 'none', anonUid: 65534, anonGid: 65534 };

/** Parses a comma-separated option list over the defaults; throws with a clear message on anything unknown. */
export function parseExportOptions(spec: string): ExportOptions {
  const o: ExportOptions = { ...DEFAULT_EXPORT_OPTIONS };
  let rootSquash = false;
  let allSquash = false;
  for (const raw of spec.split(',')) {
    const opt = raw.trim();
    if (opt === '') continue;
    const [name, value, ...rest] = opt.split('=');
    if (rest.length > 0) throw new Error(`--export-options: bad option "${opt}"`);
    const id = (): number => {
      if (value === undefined || !/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) {
        throw new Error(`--export-options: ${name} needs a numeric id from 0 to 4294967295: "${opt}"`);
      }
      return Number(value);
    };
    if (value !== undefined && name !== 'anonuid' && name !== 'anongid')
      throw new Error(`--export-options: ${name} takes no value: "${opt}"`);
    switch (name) {
      case 'secure':
        o.secure = true;
        break;
      case 'insecure':
        o.secure = false;
        break;
      case 'root_squash':
        rootSquash = true;
        break;
      case 'no_root_squash':
        rootSquash = false;
        break;
      case 'all_squash':
        allSquash = true;
        break;
      case 'no_all_squash':
        allSquash = false;
        break;
      case 'anonuid':
        o.anonUid = id();
        break;
      case 'anongid':
        o.anonGid = id();
        break;
      default:
        throw new Error(
          `--export-options: unknown option "${name}" (known: secure, insecure, root_squash, no_root_squash, all_squash, no_all_squash, anonuid=N, anongid=N)`,
        );
    }
  }
  o.mode = allSquash ? 'all' : rootSquash ? 'root' : 'none';
  return o;
}

/** The options as exports(5) would spell them, for logs. */
export function formatExportOptions(o: ExportOptions): string {
  const squash = o.mode === 'all' ? 'all_squash' : o.mode === 'root' ? 'root_squash' : 'no_root_squash';
  return `${o.secure ? 'secure' : 'insecure'},${squash},anonuid=${o.anonUid},anongid=${o.anonGid}`;
}
