// The daemon's logger: pino JSON lines when stdout is not a terminal (log collectors, journald,
// docker logs), one readable colored line per entry when it is (pino-pretty, in-process: no worker
// thread). --log-format json|pretty overrides the choice.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

export function logFormatOf(v: string | undefined, isTty = !!process.stdout.isTTY): LogFormat {
  if (v === undefined || v === '' || v === 'auto') return isTty ? 'pretty' : 'json';
  if (v === 'json' || v === 'pretty') return v;
  throw new Error(`--log-format: expected json, pretty or auto, got ${JSON.stringify(v)}`);
}

export function daemonLogger(level: string, format: LogFormat): Logger {
  const opts = { level, base: { name: 'mic-fs' } };
  if (format === 'json') return pino(opts);
  return pino(
    opts,
    pretty({
      colorize: !!process.stdout.isTTY,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      sync: true,
    }),
  );
}
