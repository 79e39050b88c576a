import type { Command } from 'commander';
import { defaultDataDir } from '../daemon/default-data-dir.js';

/** --data-dir may be given before or after the subcommand. */
export function dataDirOf(cmd: Command): string {
  let c: Command | null = cmd;
  while (c) {
    const v = c.opts().dataDir as string | undefined;
    if (v) return v;
    c = c.parent;
  }
  return defaultDataDir();
}

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printJson(obj: unknown): void {
  out(JSON.stringify(obj, null, 2));
}
