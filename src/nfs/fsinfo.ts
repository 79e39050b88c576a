// NFSPROC3_FSINFO (RFC 1813 3.3.19).
import type { Handler } from '../../rpc/handler.js';
import { RTMAX, WTMAX, type NfsDeps } from './common.js';
import { attrInfoProcedure } from './attr-info.js';

// properties bits (3.3.19)
export const FSF3_LINK = 0x0001;
export const FSF3_SYMLINK = 0x0002;
export const FSF3_HOMOGENEOUS = 0x0008;
export const FSF3_CANSETTIME = 0x0010;

export const FSINFO = {
  rtmax: RTMAX,
  rtpref: RTMAX,
  rtmult: 4096,
  wtmax: WTMAX,
  wtpref: WTMAX,
  wtmult: 4096,
  dtpref: 65536,
  properties: FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME,
} as const;

export function fsinfo(deps: NfsDeps): Handler {
  return attrInfoProcedure('FSINFO', deps, (out, fs) => {
    out.u32(FSINFO.rtmax);
    out.u32(FSINFO.rtpref);
    out.u32(FSINFO.rtmult);
    out.u32(FSINFO.wtmax);
    out.u32(FSINFO.wtpref);
    out.u32(FSINFO.wtmult);
    out.u32(FSINFO.dtpref);
    out.u64(fs.maxFileSize);
    out.u32(0); // time_delta: 1 ns
    out.u32(1);
    // a read-only export cannot set times (FSF3_CANSETTIME: SETATTR would answer ROFS)
    out.u32(fs.readOnly ? FSINFO.properties & ~FSF3_CANSETTIME : FSINFO.properties);
  });
}
