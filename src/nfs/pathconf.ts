// NFSPROC3_PATHCONF (RFC 1813 3.3.20).
import type { Handler } from '../../rpc/handler.js';
import type { NfsDeps } from './common.js';
import { NAME_MAX } from './xdr-types.js';
import { attrInfoProcedure } from './attr-info.js';

export const LINK_MAX = 32000;

export function pathconf(deps: NfsDeps): Handler {
  return attrInfoProcedure('PATHCONF', deps, (out) => {
    out.u32(LINK_MAX);
    out.u32(NAME_MAX);
    out.bool(true); // no_trunc
    out.bool(true); // chown_restricted
    out.bool(false); // case_insensitive
    out.bool(true); // case_preserving
  });
}
