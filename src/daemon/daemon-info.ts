// Where a running daemon says how to reach it; light, so the CLI can find it without loading the daemon.
import path from 'node:path';

/** <dataDir>/daemon.json: how the CLI finds a running daemon. */
export interface DaemonInfo {
  pid: number;
  port: number;
  bind: string;
  portmap_port?: number | null;
  api_port: number | null;
  api_bind: string | null;
  started_at: string;
  /** where the API's token is (absent: none, or given directly) */
  api_token_file?: string | null;
}

export function daemonInfoPath(dataDir: string): string {
  return path.join(dataDir, 'daemon.json');
}
