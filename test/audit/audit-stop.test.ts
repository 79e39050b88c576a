// The audit log when the daemon stops (real daemon from dist/, the API over HTTP, a local store).
//
// An audited change through the API answers only once its entry is durable: the audit head's
// compare-and-swap carries the entry (src/audit/audit-log.ts). So:
// - SIGKILL right after the answer: the entry is there after the restart (nothing is written behind that
//   the answer depends on).
// - SIGTERM while a change is under way (here a landing whose audit write is slowed by the fault shim,
//   marker rename-stall on the audit head): the daemon lets the change finish, answers it and waits for its
//   audit write before it exits, bounded by --stop-wait. Before, the stop cut the request's connection at
//   once and exited under the append: the session was landed, the caller got a reset, and the audit log
//   had no entry for the landing.
// - A stop that runs past --stop-wait says in its log what it cut off.
// - A git import job running in the background when the daemon stops (its pack's rename stalled) is audited
//   as interrupted, with how far it got. Before, it had no entry at all: the heads it imported were in the
//   project, unaccounted for.
// - A change whose audit entry cannot be written (marker rename-eio on the audit head) is not answered as
//   done: 503 audit_failed says it was made but is not audited. Before, it answered 200 and only the log
//   said the entry was missing.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { apiCaller } from '../lib/api-call.js';
import { buildFaultShim } from '../lib/fault-shim.js';
import { until } from '../lib/until.js';
import { git } from '../git/repo.js';

const tmp = mkdtempSync(join(tmpdir(), 'mic-auditstop-'));
const faults = join(tmp, 'faults');
let d: Daemon;
let shim = '';

beforeAll(async () => {
  mkdirSync(faults);
  shim = buildFaultShim(tmp);
  d = await startDaemon({ dataDir: join(tmp, 'd'), args: ['--api-port', '0'], env: { LD_PRELOAD: shim, MIC_FAULT_DIR: faults } });
  expect((await d.initProject('acme/app', { 'README.md': 'r\n' })).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await d?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const stalls = () =>
  existsSync(join(faults, 'faults.log'))
    ? readFileSync(join(faults, 'faults.log'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('rename-stall') && l.endsWith('/audit/head')).length
    : 0;

/** A session with one changed file, ready to land. */
async function sessionToLand(goal: string): Promise<string> {
  const a = apiCaller(d.dataDir);
  const id = (await a.call('POST', '/api/sessions/start', { project_id: 'acme/app', goal })).session.session_id as string;
  await a.call('POST', `/api/sessions/${id}/files`, { files: [{ path: `${goal}.txt`, change_type: 'added', content: 'x\n' }] });
  return id;
}

/** POST .../land, answered with its status and body, or the connection's error code. */
function land(id: string): Promise<{ status: number; body: any } | { error: string }> {
  const a = apiCaller(d.dataDir);
  return fetch(`${a.url}/api/sessions/${id}/land`, {
    method: 'POST',
    headers: { ...a.admin(), 'content-type': 'application/json' },
    body: '{}',
  }).then(
    async (r) => ({ status: r.status, body: await r.json() }),
    (e: any) => ({ error: String(e?.cause?.code ?? e) }),
  );
}

const landEntries = async (id: string) =>
  ((await apiCaller(d.dataDir).call('GET', `/api/audit?target=session:${id}&action=session.land`)).entries as { result: string }[]).map(
    (e) => e.result,
  );

describe('audit entries and a stopping daemon', () => {
  it('SIGKILL right after an answer: the entry is there after the restart', async () => {
    const a = apiCaller(d.dataDir);
    const id = (await a.call('POST', '/api/sessions/start', { project_id: 'acme/app', goal: 'killed' })).session.session_id;
    await a.call('PATCH', `/api/sessions/${id}`, { metadata: { step: 7 } });
    await d.restart({ signal: 'SIGKILL' });
    const entries = (await apiCaller(d.dataDir).call('GET', `/api/audit?target=session:${id}`)).entries as { action: string }[];
    expect(entries.map((e) => e.action)).toEqual(['session.update', 'session.start']);
    expect((await apiCaller(d.dataDir).call('GET', '/api/audit/verify')).ok).toBe(true);
  }, 60_000);

  it('a change whose entry cannot be written is answered 503 audit_failed, not 200', async () => {
    const a = apiCaller(d.dataDir);
    const id = (await a.call('POST', '/api/sessions/start', { project_id: 'acme/app', goal: 'unaudited' })).session.session_id;
    writeFileSync(join(faults, 'rename-eio'), '/audit/head\n');
    const r = await fetch(`${a.url}/api/sessions/${id}`, {
      method: 'PATCH',
      headers: { ...a.admin(), 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { step: 8 } }),
    });
    rmSync(join(faults, 'rename-eio'));
    expect(r.status).toBe(503);
    const body = await r.json();
    expect(body.error).toBe('audit_failed');
    expect(body.message).toMatch(/session\.update was done, but its audit entry could not be written/);
    // the change was made (it is not undone), and the log says so
    expect((await a.call('GET', `/api/sessions/${id}`)).session.metadata).toEqual({ step: 8 });
    expect(d.logLines((l) => l.action === 'session.update' && /could not be written/.test(String(l.msg)))).toHaveLength(1);
    // the store writes again: the next change is audited and answered
    await a.call('PATCH', `/api/sessions/${id}`, { metadata: { step: 9 } });
    expect((await a.call('GET', `/api/audit?target=session:${id}`)).entries.map((e: { action: string }) => e.action)).toEqual([
      'session.update',
      'session.start',
    ]);
  }, 60_000);

  it('SIGTERM during an audited landing: it is answered, and its entry is there after the restart', async () => {
    const id = await sessionToLand('stopped');
    const before = stalls();
    writeFileSync(join(faults, 'rename-stall'), '/audit/head\n');
    const answer = land(id);
    // the landing is made; its audit entry's write is under way (stalled 3 s)
    await until(() => stalls() > before, 20_000);
    rmSync(join(faults, 'rename-stall'));
    const stopped = d.stop('SIGTERM', { cleanup: false });
    const got = await answer;
    expect(got).toMatchObject({ status: 200, body: { session: { status: 'landed' } } });
    expect((await stopped).code).toBe(0);
    expect(d.logLines((l) => /^stop:/.test(String(l.msg)))).toEqual([]);
    await d.restart({ signal: 'SIGTERM' }); // starts it again (already stopped)
    expect(await landEntries(id)).toEqual(['ok']);
    expect((await apiCaller(d.dataDir).call('GET', '/api/audit/verify')).ok).toBe(true);
  }, 60_000);

  it('a git import running when the daemon stops is audited as interrupted', async () => {
    const repo = join(tmp, 'repo');
    git(tmp, 'init', '-q', '-b', 'main', repo);
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(repo, `f${i}.txt`), `commit ${i}\n`);
      git(repo, 'add', '.');
      git(repo, 'commit', '-q', '-m', `commit ${i}`);
    }
    const a = apiCaller(d.dataDir);
    const packStalls = () =>
      existsSync(join(faults, 'faults.log'))
        ? readFileSync(join(faults, 'faults.log'), 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('rename-stall') && l.endsWith('.pack')).length
        : 0;
    const before = packStalls();
    writeFileSync(join(faults, 'rename-stall'), '.pack\n');
    const job = (await a.call('POST', '/api/projects/acme/imported/import-git', { repo })).job;
    await until(() => packStalls() > before, 20_000); // the import is writing its pack
    rmSync(join(faults, 'rename-stall'));
    expect((await a.call('GET', `/api/projects/acme/imported/git-jobs/${job.id}`)).job.status).toBe('running');
    expect((await d.stop('SIGTERM', { cleanup: false })).code).toBe(0);
    await d.restart({ signal: 'SIGTERM' });
    const entries = (await apiCaller(d.dataDir).call('GET', '/api/audit?action=git.*&target=project:acme/imported')).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'git.import', result: 'error: interrupted', detail: { repo, job: job.id } });
  }, 60_000);

  it('a stop that waits past --stop-wait says what it cut off', async () => {
    await d.stop('SIGTERM', { cleanup: false });
    d = await startDaemon({
      dataDir: join(tmp, 'd'),
      args: ['--api-port', '0', '--stop-wait', '0.5'],
      env: { LD_PRELOAD: shim, MIC_FAULT_DIR: faults },
    });
    const id = await sessionToLand('cut');
    const before = stalls();
    writeFileSync(join(faults, 'rename-stall'), '/audit/head\n');
    const answer = land(id);
    await until(() => stalls() > before, 20_000);
    rmSync(join(faults, 'rename-stall'));
    expect((await d.stop('SIGTERM', { cleanup: false })).code).toBe(0);
    expect(await answer).toHaveProperty('error'); // cut: no answer, so no claim that it is audited
    expect(d.logLines((l) => l.msg === 'stop: API changes still under way were cut off')).toHaveLength(1);
    expect(d.logLines((l) => l.msg === 'stop: audit log writes still pending, not waited for')).toHaveLength(1);
  }, 60_000);
});
