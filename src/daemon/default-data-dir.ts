// The data directory's default place; light, so the CLI can name it without opening a store.
import os from 'node:os';
import path from 'node:path';

export function defaultDataDir(): string {
  return process.env.MIC_DATA_DIR || path.join(os.homedir(), '.mic');
}
