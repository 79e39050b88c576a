// MOUNTPROC3_UMNT (RFC 1813 5.2.3): void result whatever happens.
import type { Handler } from '../../rpc/handler.js';
import { MNTPATHLEN, type MountDeps } from './common.js';

export function umnt({ exports, log }: MountDeps): Handler {
  return (args, _out, ctx) => {
    const raw = args.opaque(65536);
    if (raw.length > MNTPATHLEN) return;
    try {
      exports.unmount(raw.toString('utf8'), ctx.remoteAddress);
    } catch (e) {
      log.warn({ err: e, client: ctx.remoteAddress }, 'MOUNT UMNT failed');
    }
  };
}
