// Raw calls to the API of a daemon started by test/lib/daemon.ts (its address and token from daemon.json),
// each expected to succeed (status < 300).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface ApiCaller {
  url: string;
  token: string;
  /** the Authorization header of the daemon's token */
  admin(): Record<string, string>;
  call(method: string, path: string, body?: unknown): Promise<any>;
}

export function apiCaller(dataDir: string): ApiCaller {
  const info = JSON.parse(readFileSync(join(dataDir, 'daemon.json'), 'utf8'));
  const url = `http://127.0.0.1:${info.api_port}`;
  const token = readFileSync(info.api_token_file, 'utf8').trim();
  const admin = () => ({ authorization: `Bearer ${token}` });
  return {
    url,
    token,
    admin,
    async call(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: { ...admin(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
      return res.json();
    },
  };
}
