// A 200 MB file through the kernel NFSv3 client: written, read back from the server
// (guest caches dropped) with a matching SHA-256, 1 MiB overwritten in the middle;
// then the bytes the server holds are checked again with libnfs nfs-cat.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon, type SessionInfo } from '../lib/daemon.js';
import { describeResult, guestScript, runGuest, stepOutput, stepStatus, type GuestResult } from '../lib/kernel.js';
import { nfsCat, nfsLs } from '../lib/libnfs.js';

const MB = 200;
const PATCH_AT_MB = 100;

describe.sequential('kernel NFSv3 client: 200 MB file', () => {
  let d: Daemon;
  let s: SessionInfo;
  let r: GuestResult;
  let dir: string;
  let patchedSha: string;

  beforeAll(async () => {
    // source file and patch generated on the host (the guest reads them through hostfs)
    dir = mkdtempSync(join(tmpdir(), 'mic-big-'));
    const full = createHash('sha256');
    const patched = createHash('sha256');
    const patch = randomBytes(1 << 20);
    const fd = openSync(join(dir, 'src.bin'), 'w');
    for (let i = 0; i < MB; i++) {
      const chunk = randomBytes(1 << 20);
      writeSync(fd, chunk);
      full.update(chunk);
      patched.update(i === PATCH_AT_MB ? patch : chunk);
    }
    closeSync(fd);
    const pfd = openSync(join(dir, 'patch.bin'), 'w');
    writeSync(pfd, patch);
    closeSync(pfd);
    patchedSha = patched.digest('hex');

    d = await startDaemon();
    await d.initProject('test/big', { 'README.md': 'big\n' });
    s = await d.startSession('test/big', '200 MB file');
    r = await runGuest(guestScript('bigfile'), {
      port: d.port,
      export: s.export,
      timeout: 400,
      env: {
        BIG_SRC: join(dir, 'src.bin'),
        BIG_SHA: full.digest('hex'),
        BIG_PATCH: join(dir, 'patch.bin'),
        BIG_PATCH_MB: String(PATCH_AT_MB),
        BIG_PATCHED_SHA: patchedSha,
      },
    });
  }, 480_000);

  afterAll(async () => {
    await d?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the guest script exited 0', () => {
    expect(r.code, describeResult(r)).toBe(0);
  });

  for (const name of ['write', 'read', 'overwrite_middle']) {
    it(`step ${name}`, () => {
      expect(stepStatus(r.stdout, name), stepOutput(r.stdout, name) || describeResult(r)).toBe('ok');
    });
  }

  it('libnfs sees the patched file with the right size and SHA-256', async () => {
    const ls = await nfsLs({ port: d.port, export: s.export });
    expect(ls.find((e) => e.name === 'big.bin')?.size).toBe(MB * 1048576);
    const data = await nfsCat({ port: d.port, export: s.export }, 'big.bin');
    expect(data.length).toBe(MB * 1048576);
    expect(createHash('sha256').update(data).digest('hex')).toBe(patchedSha);
  });
});
