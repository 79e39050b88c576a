// pino, loaded on first use: a CLI command that never logs (most of them) does not pay for loading it.
import { createRequire } from 'node:module';
import type pinoModule from 'pino';
import type { Logger } from 'pino';

let loaded: typeof pinoModule | undefined;

/** The pino module, required on the first call. */
export function pinoLazy(): typeof pinoModule {
  return (loaded ??= createRequire(import.meta.url)('pino') as typeof pinoModule);
}

let silent: Logger | undefined;

/** A logger that discards everything (one per process, made on first use). */
export function silentLogger(): Logger {
  return (silent ??= pinoLazy()({ level: 'silent' }));
}
