// NFSPROC3_NULL (RFC 1813 3.3.0): void in, void out.
import type { Handler } from '../../rpc/handler.js';

export function nullProc(): Handler {
  return () => {};
}
