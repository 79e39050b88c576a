// GET /metrics of an in-process daemon: strict exposition format, the token when the API has one, the
// RPC observer's counts for rejected calls and duplicate-request-cache hits (raw RPC on the wire), and
// every metric the Grafana dashboard queries exists.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeAuthSys, writeCallHeader, AUTH_SYS, RpcError, XdrWriter } from '../../rpc/index.js';
import { Nfs3Client } from '../lib/nfs3-client.js';
import { REPO_ROOT } from '../lib/kernel.js';
import { parsePrometheusText, sumOf } from '../lib/prom-text.js';
import { makeProject, testDaemon } from '../session/helpers.js';

async function scrape(url: string, token?: string) {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('/metrics', () => {
  it('parses strictly, needs the API token, and counts rejected calls and DRC hits', async () => {
    const t = await testDaemon({ token: 'metrics-token' });
    try {
      expect((await scrape(t.url)).status).toBe(401);
      const first = await scrape(t.url, 'metrics-token');
      expect(first.status).toBe(200);
      expect(first.type).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
      const before = parsePrometheusText(first.text);
      for (const [name, f] of before) if (name.startsWith('mic_')) expect(f.help.length, name).toBeGreaterThan(0);

      await makeProject(t.dataDir, 'acme/m', { 'a.txt': 'a\n' });
      const s = (await t.api.start({ project: 'acme/m', goal: 'metrics' })).session;
      const c = await Nfs3Client.connect(t.d.port);
      try {
        // no such program: answered PROG_UNAVAIL without a handler
        await expect(c.rpc.call(400_000, 1, 0)).rejects.toBeInstanceOf(RpcError);
        // a MKDIR sent twice with one xid: the second is answered from the duplicate-request cache
        const root = await c.mountRoot(s.export!);
        const w = new XdrWriter(256);
        writeCallHeader(w, {
          xid: 0x5eed,
          prog: 100003,
          vers: 3,
          proc: 9,
          credFlavor: AUTH_SYS,
          credBody: encodeAuthSys({ stamp: 1, machine: 'm', uid: 0, gid: 0, gids: [] }),
        });
        w.opaque(root).string('made-once');
        for (let i = 0; i < 6; i++) w.u32(0); // sattr3: nothing set
        const call = w.toBuffer();
        const r1 = await c.rpc.callRawRecord(call, { timeoutMs: 10_000 });
        const r2 = await c.rpc.callRawRecord(call, { timeoutMs: 10_000 });
        expect(r2.equals(r1)).toBe(true);
      } finally {
        await c.rpc.close();
      }
      const after = parsePrometheusText((await scrape(t.url, 'metrics-token')).text);
      const d = (n: string, l: Record<string, string> = {}) => sumOf(after, n, l) - sumOf(before, n, l);
      expect(d('mic_rpc_rejected_calls_total', { reason: 'prog_unavail' })).toBe(1);
      expect(d('mic_rpc_drc_hits_total', { state: 'done' })).toBe(1);
      expect(d('mic_rpc_calls_total', { program: 'nfs', procedure: 'MKDIR', status: 'ok' })).toBe(1);
      expect(d('mic_rpc_calls_total', { program: 'mount', procedure: 'MNT', status: 'ok' })).toBe(1);
      expect(sumOf(after, 'mic_rpc_calls_in_flight')).toBe(0);
      expect(sumOf(after, 'mic_sessions', { state: 'active' })).toBe(1);

      // the dashboard queries only metrics that exist
      const dash = readFileSync(join(REPO_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8');
      const names = new Set(
        [...dash.matchAll(/\b((?:mic|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|count|sum)$/, '')),
      );
      expect(names.size).toBeGreaterThan(15);
      for (const n of names) expect(after.has(n), `dashboard metric ${n}`).toBe(true);
    } finally {
      await t.close();
    }
  }, 120_000);
});
