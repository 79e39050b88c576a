// The logger of a CLI command that opens the store itself (no daemon): what its in-process service does
// beside the command (a rebase or handoff a crash cut short, finished) is one readable line on stderr, as
// the daemon would log it; stdout stays the command's answer. Made on first use: a command that logs nothing
// (most of them) loads neither pino nor pino-pretty (test/cli/lazy-load.test.ts).
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { pinoLazy } from '../util/pino-lazy.js';

const require = createRequire(import.meta.url);

/** Warnings and errors (MIC_LOG_LEVEL) on stderr, the logger made when first used. */
export function cliLogger(level = process.env.MIC_LOG_LEVEL || 'warn'): Logger {
  let real: Logger | undefined;
  const make = (): Logger => {
    const pretty = require('pino-pretty') as typeof PinoPretty;
    return pinoLazy()(
      { level, base: { name: 'mic' } },
      pretty({
        destination: 2,
        colorize: !!process.stderr.isTTY,
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,name',
        sync: true,
      }),
    );
  };
  return new Proxy({} as Logger, {
    get(_target, key) {
      const l = (real ??= make());
      const v: unknown = Reflect.get(l, key, l);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(l) : v;
    },
  });
}
