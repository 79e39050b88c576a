// MOUNTPROC3_NULL (RFC 1813 5.2.0).
import type { Handler } from '../../rpc/handler.js';

export function mountNull(): Handler {
  return () => {};
}
