// Artifacts against the real daemon process (dist/), over HTTP: a 200 MiB artifact streams in and is
// read back whole and by range while the daemon's memory grows by less than 64 MiB; storing under a
// name again makes a new version; a query by tag across sessions finds exactly the right ones; gc takes
// the content of a deleted artifact and keeps content another artifact still names.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';

let d: Daemon;
let base = '';
let token = '';
const sessions: string[] = [];
const big = join(tmpdir(), `mic-artifact-${process.pid}.bin`);
const BIG = 200 * 1024 * 1024;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

/** Samples the daemon's RSS every 20 ms while fn runs; returns fn's result and the peak. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ out: T; peakKiB: number }> {
  let peak = rssKiB(d.pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(d.pid));
  }, 20);
  try {
    const out = await fn();
    return { out, peakKiB: Math.max(peak, rssKiB(d.pid)) };
  } finally {
    clearInterval(timer);
  }
}

function request(
  method: string,
  path: string,
  o: { file?: string; data?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; hash: string; length: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...o.headers };
    if (o.file) headers['content-length'] = String(statSync(o.file).size);
    if (o.data) headers['content-length'] = String(o.data.length);
    if (o.file || o.data) headers['content-type'] ??= 'application/octet-stream';
    const req = http.request(base + path, { method, headers }, (res) => {
      const h = createHash('sha256');
      const kept: Buffer[] = [];
      let length = 0;
      res.on('data', (c: Buffer) => {
        h.update(c);
        length += c.length;
        if (length <= 1 << 20) kept.push(c);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(kept), hash: h.digest('hex'), length }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.file) createReadStream(o.file).pipe(req);
    else req.end(o.data);
  });
}

const json = async (r: Promise<{ status: number; body: Buffer }>) => {
  const x = await r;
  return { status: x.status, body: JSON.parse(x.body.toString() || 'null') };
};

beforeAll(async () => {
  d = await startDaemon({ args: ['--api-port', '0'] });
  await d.initProject('acme/app', { 'README.md': 'hi\n' });
  for (const g of ['one', 'two']) sessions.push((await d.startSession('acme/app', g)).session_id);
  const info = JSON.parse(readFileSync(join(d.dataDir, 'daemon.json'), 'utf8'));
  base = `http://127.0.0.1:${info.api_port}`;
  token = readFileSync(info.api_token_file, 'utf8').trim();
  // 200 MiB that does not compress: 1 MiB of random bytes, each copy with its offset stamped in
  const block = randomBytes(1024 * 1024);
  const out = Buffer.allocUnsafe(BIG);
  for (let i = 0; i < BIG / block.length; i++) {
    block.copy(out, i * block.length);
    out.writeUInt32BE(i, i * block.length);
  }
  writeFileSync(big, out);
}, 120_000);

afterAll(async () => {
  rmSync(big, { force: true });
  await d?.stop('SIGTERM', { cleanup: true });
});

describe.sequential('artifacts', () => {
  it('a 200 MiB artifact streams in and out, whole and by range, in bounded memory', async () => {
    // warm up the write and read paths (zstd, the store's pools) with a 16 MiB artifact, so what is
    // measured is what the 200 MiB cost beyond any artifact
    const warm = await json(
      request('POST', `/api/sessions/${sessions[0]}/artifacts?name=warm.bin`, { data: readFileSync(big).subarray(0, 16 << 20) }),
    );
    expect(warm.status).toBe(201);
    expect((await request('GET', `/api/sessions/${sessions[0]}/artifacts/warm.bin/content`)).length).toBe(16 << 20);
    const before = rssKiB(d.pid);
    const up = await peakRss(() =>
      json(request('POST', `/api/sessions/${sessions[0]}/artifacts?name=model.bin&type=model&tags=weights,big`, { file: big })),
    );
    expect(up.out.status).toBe(201);
    const want = createHash('sha256').update(readFileSync(big)).digest('hex');
    expect(up.out.body.artifact).toMatchObject({
      size: BIG,
      content_hash: want,
      version: 1,
      type: 'model',
      metadata: { name: 'model.bin', tags: ['weights', 'big'] },
    });
    const id = up.out.body.artifact.id;
    const whole = await peakRss(() => request('GET', `/api/sessions/${sessions[0]}/artifacts/${id}/content`));
    expect(whole.out).toMatchObject({ status: 200, length: BIG, hash: want });
    const range = await request('GET', `/api/sessions/${sessions[0]}/artifacts/model.bin/content`, {
      headers: { range: 'bytes=104857590-104857609' },
    });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 104857590-104857609/${BIG}`);
    expect(range.body.equals(readFileSync(big).subarray(104857590, 104857610))).toBe(true);
    const tail = await request('GET', `/api/sessions/${sessions[0]}/artifacts/${id}/content`, { headers: { range: 'bytes=-5' } });
    expect(tail.body.equals(readFileSync(big).subarray(BIG - 5))).toBe(true);
    expect(
      (await request('GET', `/api/sessions/${sessions[0]}/artifacts/${id}/content`, { headers: { range: `bytes=${BIG}-` } })).status,
    ).toBe(416);
    const growthMiB = (Math.max(up.peakKiB, whole.peakKiB) - before) / 1024;
    expect(growthMiB).toBeLessThan(64);
  }, 180_000);

  it('a name stored again is a new version; each version stays readable', async () => {
    const s = sessions[1]!;
    const v1 = await json(
      request('POST', `/api/sessions/${s}/artifacts?name=report.txt&type=report&tags=ci,nightly`, {
        data: Buffer.from('first\n'),
        headers: { 'content-type': 'text/markdown' },
      }),
    );
    const v2 = await json(
      request('POST', `/api/sessions/${s}/artifacts?name=report.txt&type=report&tags=ci`, {
        data: Buffer.from('second\n'),
        headers: { 'content-type': 'text/markdown' },
      }),
    );
    expect([v1.body.artifact.version, v2.body.artifact.version]).toEqual([1, 2]);
    expect(v2.body.artifact.id).toBe(v1.body.artifact.id);
    const versions = await json(request('GET', `/api/sessions/${s}/artifacts/report.txt/versions`));
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect((await request('GET', `/api/sessions/${s}/artifacts/report.txt/content?version=1`)).body.toString()).toBe('first\n');
    expect((await request('GET', `/api/sessions/${s}/artifacts/report.txt/content`)).body.toString()).toBe('second\n');
    // a form or text/plain upload (which any web page may send) is refused
    expect(
      (await request('POST', `/api/sessions/${s}/artifacts?name=x`, { data: Buffer.from('x'), headers: { 'content-type': 'text/plain' } }))
        .status,
    ).toBe(415);
  });

  it('a query by tag, type and text finds exactly the right artifacts across sessions', async () => {
    await json(request('POST', `/api/sessions/${sessions[0]}/artifacts?name=ci.log&type=log&tags=ci`, { data: Buffer.from('log\n') }));
    const byTag = await json(request('GET', '/api/projects/acme/app/artifacts?tag=ci'));
    expect(
      byTag.body.artifacts.map((a: { metadata: { name: string }; session_id: string }) => `${a.session_id}:${a.metadata.name}`).sort(),
    ).toEqual([`${sessions[0]}:ci.log`, `${sessions[1]}:report.txt`].sort());
    expect(
      (await json(request('GET', '/api/projects/acme/app/artifacts?type=model'))).body.artifacts.map(
        (a: { metadata: { name: string } }) => a.metadata.name,
      ),
    ).toEqual(['model.bin']);
    expect((await json(request('GET', `/api/projects/acme/app/artifacts?text=REPORT&session=${sessions[1]}`))).body.artifacts).toHaveLength(
      1,
    );
    // 'nightly' was only on version 1: queries see the latest version
    expect((await json(request('GET', '/api/projects/acme/app/artifacts?tag=nightly'))).body.artifacts).toEqual([]);
  });

  it('gc takes the content of a deleted artifact and keeps content still named elsewhere', async () => {
    const shared = Buffer.from(`shared ${randomBytes(8).toString('hex')}\n`);
    const lonely = Buffer.from(`lonely ${randomBytes(8).toString('hex')}\n`);
    const a = await json(request('POST', `/api/sessions/${sessions[0]}/artifacts?name=a.txt`, { data: shared }));
    await json(request('POST', `/api/sessions/${sessions[1]}/artifacts?name=b.txt`, { data: shared }));
    const c = await json(request('POST', `/api/sessions/${sessions[0]}/artifacts?name=c.txt`, { data: lonely }));
    const blobPath = (h: string) => join(d.dataDir, 'objects', 'projects', 'acme', 'app', 'blobs', h.slice(0, 2), h);
    expect(existsSync(blobPath(a.body.artifact.content_hash))).toBe(true);
    expect((await request('DELETE', `/api/sessions/${sessions[0]}/artifacts/a.txt`)).status).toBe(200);
    expect((await request('DELETE', `/api/sessions/${sessions[0]}/artifacts/${c.body.artifact.id}`)).status).toBe(200);
    expect((await request('GET', `/api/sessions/${sessions[0]}/artifacts/a.txt`)).status).toBe(404);
    const gc = await d.mic(['gc', '--grace', '0', '--force', '--json']);
    expect(gc.code).toBe(0);
    expect(existsSync(blobPath(a.body.artifact.content_hash))).toBe(true); // b.txt names it
    expect(existsSync(blobPath(c.body.artifact.content_hash))).toBe(false);
  });
});
