// The hash-chained audit log on a real LocalBackend: appends from two "daemons" form one chain, and
// editing, removing or replacing a past entry is detected and named.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/store/local-backend.js';
import { AuditLog, entryHash } from '../../src/audit/audit-log.js';
import { tempDir } from '../store/helpers.js';

describe('audit log', () => {
  it('appends concurrently from two daemons into one verified chain, and filters', async () => {
    const dir = await tempDir();
    const a = new AuditLog(new LocalBackend(dir));
    const b = new AuditLog(new LocalBackend(dir));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).append({
          actor: i % 2 ? 'alice' : 'bob',
          action: i % 3 ? 'session.land' : 'session.create',
          target: `session:s${i}`,
          result: 'ok',
        }),
      ),
    );
    const v = await a.verify();
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(20);
    expect(v.head?.seq).toBe(20);
    const all = await b.query({ limit: 100 });
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect((await a.query({ actor: 'alice' })).every((e) => e.actor === 'alice')).toBe(true);
    expect((await a.query({ actor: 'alice' })).length).toBe(10);
    expect((await a.query({ target: 'session:s4' })).map((e) => e.target)).toEqual(['session:s4']);
    expect((await a.query({ action: 'session.*', limit: 5 })).length).toBe(5);
  });

  it('names the entry that was edited, and a removed entry', async () => {
    const dir = await tempDir();
    const log = new AuditLog(new LocalBackend(dir));
    for (let i = 1; i <= 5; i++) await log.append({ actor: 'alice', action: 'session.land', target: `session:s${i}`, result: 'ok' });
    const entriesDir = join(dir, 'audit', 'entries');
    const files = (await readdir(entriesDir)).sort();
    const third = join(entriesDir, files[2]!);
    const original = await readFile(third, 'utf8');
    // the actor is changed after the fact
    await writeFile(third, original.replace('"actor":"alice"', '"actor":"mallory"'));
    let v = await log.verify();
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.objectContaining({ seq: 3, problem: expect.stringMatching(/entry 3 was changed/) })]);

    // a forger who also fixes the entry's own hash still breaks the link from entry 4
    const forged = JSON.parse(original) as Record<string, unknown>;
    forged.actor = 'mallory';
    delete forged.hash;
    forged.hash = entryHash(forged as never);
    await writeFile(third, JSON.stringify(forged));
    v = await log.verify();
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({ seq: 3 });

    await writeFile(third, original);
    expect((await log.verify()).ok).toBe(true);
    await rm(join(entriesDir, files[1]!));
    v = await log.verify();
    expect(v.ok).toBe(false);
    expect(v.problems[0]!.problem).toMatch(/entry 2 .* is missing/);
  });
});
