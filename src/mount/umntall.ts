// MOUNTPROC3_UMNTALL (RFC 1813 5.2.4): void in, void out.
import type { Handler } from '../../rpc/handler.js';
import type { MountDeps } from './common.js';

export function umntall({ exports, log }: MountDeps): Handler {
  return (_args, _out, ctx) => {
    try {
      exports.unmountAll(ctx.remoteAddress);
    } catch (e) {
      log.warn({ err: e, client: ctx.remoteAddress }, 'MOUNT UMNTALL failed');
    }
  };
}
