// Large READs of a session file sent with sendfile(2) (native/, rpc/file-slice.ts, rpc/outbound.ts), against the
// real daemon over the wire, once with the addon and once with MIC_SENDFILE=0 (pread and write): libnfs (nfs-cat,
// nfs-cp) and the TS client read every byte back; READs pipelined on one connection between GETATTRs, WRITEs of
// another file and NULLs each get exactly their reply; a client that stops reading makes the kernel take a reply
// only in part (the daemon logs it) and the rest follows in order; READs racing truncations and removals from
// another client never leave the stream with fewer bytes than a reply's count promised; a libnfs client killed
// with SIGKILL in the middle of a transfer leaves the daemon serving.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { nfsCat, nfsGet, nfsUrl, type NfsTarget } from '../lib/libnfs.js';
import { seeded } from '../store/seeded.js';
import { readRaw } from './read-raw.js';

const MiB = 1024 * 1024;

describe.each([
  { mode: 'sendfile', env: {} as Record<string, string>, sendfile: true },
  { mode: 'pread and write (MIC_SENDFILE=0)', env: { MIC_SENDFILE: '0' }, sendfile: false },
])('large READs, $mode', ({ env, sendfile }) => {
  let d: Daemon;
  let a: Nfs3Client;
  let b: Nfs3Client;
  let root: Buffer;
  let target: NfsTarget;
  const files = new Map<string, { fh: Buffer; content: Buffer }>();

  async function put(client: Nfs3Client, name: string, content: Buffer): Promise<Buffer> {
    const r = await client.create(root, name, { kind: 'unchecked', attrs: { mode: 0o644 } });
    expect(r.status).toBe(NfsStatus.OK);
    const writes: Promise<void>[] = [];
    for (let o = 0; o < content.length; o += MiB) {
      writes.push(
        client.write(r.fh!, o, content.subarray(o, o + MiB), StableHow.UNSTABLE).then((w) => expect(w.status).toBe(NfsStatus.OK)),
      );
    }
    await Promise.all(writes);
    files.set(name, { fh: r.fh!, content });
    return r.fh!;
  }

  function expectBytes(got: { data: Buffer; eof: boolean }, content: Buffer, offset: number, count: number): void {
    const want = content.subarray(Math.min(offset, content.length), Math.min(offset + count, content.length));
    expect(got.data.length).toBe(want.length);
    expect(got.data.equals(want)).toBe(true);
    expect(got.eof).toBe(offset + want.length >= content.length);
  }

  beforeAll(async () => {
    d = await startDaemon({ env, logLevel: 'debug' });
    await d.initProject('acme/sf', { 'README.md': 'x' });
    const s = await d.startSession('acme/sf', 'sendfile');
    target = { server: '127.0.0.1', port: d.port, export: s.export };
    a = await Nfs3Client.connect(d.port);
    b = await Nfs3Client.connect(d.port);
    root = await a.mountRoot(s.export);
    const sizes = [9 * MiB + 3, 2 * MiB + 2, MiB + 1, 131_073, 65_536];
    for (const [i, size] of sizes.entries()) await put(a, `f${i}.bin`, seeded(size, 70 + i));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await d?.stop();
  });

  it('the daemon says whether it sends with sendfile', () => {
    const listening = d.logLines((l) => l.msg === 'listening');
    expect(listening.length).toBe(1);
    expect(listening[0].sendfile).toBe(sendfile);
  });

  it('nfs-cat, nfs-cp and the TS client read every file back, at offsets inside, near and past the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mic-sf-'));
    try {
      for (const [name, f] of files) {
        expect((await nfsCat(target, name)).equals(f.content)).toBe(true);
        const local = join(dir, name);
        const r = await nfsGet(target, name, local);
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(local).equals(f.content)).toBe(true);
        const len = f.content.length;
        for (const [offset, count] of [
          [0, MiB],
          [1, MiB],
          [3, 65_537],
          [Math.max(0, len - 65_537), MiB],
          [Math.max(0, len - MiB + 1), MiB],
          [len - 1, MiB],
          [len, MiB],
          [len + 7, MiB],
        ]) {
          expectBytes(await readRaw(a, f.fh, offset, count), f.content, offset, count);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('READs pipelined on one connection between GETATTRs, WRITEs and NULLs each get exactly their reply', async () => {
    const big = files.get('f0.bin')!;
    const other = await put(a, 'other.bin', seeded(3 * MiB, 9));
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 120; i++) {
      const offset = (i * 524_287) % (big.content.length + MiB);
      const count = [MiB, 65_536, 100_001, 4_096][i % 4];
      jobs.push(readRaw(a, big.fh, offset, count).then((got) => expectBytes(got, big.content, offset, count)));
      if (i % 3 === 0) jobs.push(a.getattr(big.fh).then((g) => expect(Number(g.attrs?.size)).toBe(big.content.length)));
      if (i % 5 === 0) {
        const w = seeded(70_001, 200 + i);
        jobs.push(a.write(other, (i * 4_099) % (2 * MiB), w, StableHow.UNSTABLE).then((r) => expect(r.status).toBe(NfsStatus.OK)));
      }
      if (i % 7 === 0) jobs.push(a.rpc.call(100003, 3, 0).then(() => undefined));
    }
    await Promise.all(jobs);
  });

  it('a client that stops reading: the kernel takes replies in part, the rest follows in order', async () => {
    const big = files.get('f0.bin')!;
    const slow = await Nfs3Client.connect(d.port);
    try {
      const sock = (slow.rpc as unknown as { socket: import('node:net').Socket }).socket;
      sock.pause(); // nothing is read: the socket buffers on both sides fill up
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < 48; i++) {
        const offset = (i % 10) * MiB + (i % 3);
        jobs.push(readRaw(slow, big.fh, offset, MiB).then((got) => expectBytes(got, big.content, offset, MiB)));
      }
      if (sendfile) {
        // wait for the daemon to say a reply went only in part (a condition, not a time)
        for (let i = 0; i < 400 && !d.log().includes('sendfile partial'); i++) await new Promise((r) => setTimeout(r, 25));
        expect(d.log()).toContain('sendfile partial');
      } else {
        await new Promise((r) => setTimeout(r, 300));
      }
      sock.resume();
      await Promise.all(jobs);
      // the connection is still in step: a small call after the flood
      expectBytes(await readRaw(slow, big.fh, 5, 70_000), big.content, 5, 70_000);
    } finally {
      await slow.close();
    }
    if (!sendfile) expect(d.log()).not.toContain('sendfile partial');
  });

  it('READs racing truncations and removals: every reply carries the bytes its count says, and the stream stays in step', async () => {
    const before = seeded(3 * MiB + 2, 31);
    const fh = await put(a, 'race.bin', before);
    for (let i = 0; i < 12; i++) {
      const cut = 2 * MiB + 1 + i * 4_099;
      // READs of the tail on one connection while another cuts it short
      const reads = [0, 1, 2].map((k) => readRaw(a, fh, 2 * MiB + k * 4_096, MiB));
      const [t, ...got] = await Promise.all([b.setattr(fh, { size: cut }), ...reads]);
      expect(t.status).toBe(NfsStatus.OK);
      for (const [k, g] of got.entries()) {
        const offset = 2 * MiB + k * 4_096;
        // before the cut the file's bytes; from the cut on, the old bytes or zeros (a cut page's tail), never
        // fewer bytes than the count (readRaw checks count = length, padding and the end of the record)
        const end = Math.min(offset + g.data.length, before.length);
        expect([Math.min(MiB, before.length - offset), Math.max(0, Math.min(MiB, cut - offset))]).toContain(g.data.length);
        const keep = Math.max(0, cut - offset);
        expect(g.data.subarray(0, keep).equals(before.subarray(offset, offset + keep))).toBe(true);
        for (let j = keep; j < end - offset; j++)
          if (g.data[j] !== 0 && g.data[j] !== before[offset + j]) expect.fail(`byte ${offset + j}`);
      }
      // the same connection answers the next call correctly
      expectBytes(await readRaw(a, fh, 0, 65_536), before, 0, 65_536);
      for (let o = cut; o < before.length; o += MiB) {
        expect((await b.write(fh, o, before.subarray(o, o + MiB), StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
      }
    }
    // removal racing READs: the open data file stays readable for the replies that name it
    const gone = await put(a, 'gone.bin', seeded(4 * MiB, 32));
    const content = files.get('gone.bin')!.content;
    const reads = [0, 1, 2, 3].map((k) => a.read(gone, k * MiB, MiB).then((g) => ({ g, k })));
    const [rm, ...got] = await Promise.all([b.remove(root, 'gone.bin'), ...reads]);
    expect(rm.status).toBe(NfsStatus.OK);
    for (const { g, k } of got) {
      // a READ the daemon takes after the removal finds no file; one before it gets every byte
      if (g.status !== NfsStatus.OK) expect(g.status).toBe(NfsStatus.STALE);
      else expectBytes({ data: g.data!, eof: g.eof! }, content, k * MiB, MiB);
    }
    expectBytes(await readRaw(a, files.get('f1.bin')!.fh, 0, MiB), files.get('f1.bin')!.content, 0, MiB);
  });

  it('a libnfs client killed with SIGKILL in the middle of a transfer leaves the daemon serving', async () => {
    const big = files.get('f0.bin')!;
    for (let round = 0; round < 3; round++) {
      const child = spawn('nfs-cat', [nfsUrl(target, 'f0.bin')], { stdio: ['ignore', 'pipe', 'ignore'] });
      const exited = new Promise<void>((r) => child.on('close', () => r()));
      let got = 0;
      // killed once some of the file has arrived: the replies after it are mid-flight
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= (round + 1) * MiB) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('close', () => resolve());
      });
      await exited;
    }
    expect((await nfsCat(target, 'f0.bin')).equals(big.content)).toBe(true);
    expectBytes(await readRaw(b, big.fh, MiB, MiB), big.content, MiB, MiB);
  });
});
