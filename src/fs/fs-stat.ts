// FSSTAT (RFC 1813 3.3.18) of a session: the space of the file system its state lives on.
import fs from 'node:fs';
import type { Attrs, FsStat } from './file-system.js';

/** `readOnly`: a snapshot has no room for anything. */
export function fsStatOf(dir: string, attrs: Attrs, readOnly: boolean): FsStat {
  const st = fs.statfsSync(dir);
  const bsize = st.bsize;
  const ro = readOnly ? 0 : 1;
  return {
    attrs,
    tbytes: st.blocks * bsize,
    fbytes: ro * st.bfree * bsize,
    abytes: ro * st.bavail * bsize,
    tfiles: st.files,
    ffiles: ro * st.ffree,
    afiles: ro * st.ffree,
    invarsec: 0,
  };
}
