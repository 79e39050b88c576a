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

/** A LocalBackend whose writes of entry objects never reach the disk, as when the process is killed right
 *  after the head's compare-and-swap (an entry's own object is written behind it). */
class LostEntryWrites extends LocalBackend {
  override async put(key: string, data: Buffer): Promise<void> {
    if (key.startsWith('audit/entries/')) throw new Error('killed before the entry object was written');
    return super.put(key, data);
  }
}

describe('audit log: one durable write per append', () => {
  it('an acknowledged entry is in the head itself; the next append writes its object before moving on', async () => {
    const dir = await tempDir();
    const dying = new AuditLog(new LostEntryWrites(dir));
    // acknowledged although its own object was never written: the head's compare-and-swap carried it
    const e1 = await dying.append({ actor: 'alice', action: 'session.land', target: 'session:s1', result: 'ok' });
    const e2 = await dying.append({ actor: 'alice', action: 'session.land', target: 'session:s2', result: 'ok' }).catch((e: Error) => e);
    // the head cannot move past an entry whose object is not written
    expect(e2).toBeInstanceOf(Error);

    // the next process: the entry is there, found and verified
    const next = new AuditLog(new LocalBackend(dir));
    expect((await next.query()).map((e) => e.hash)).toEqual([e1.hash]);
    let v = await next.verify();
    expect(v).toMatchObject({ ok: true, entries: 1 });
    expect(await readdir(join(dir, 'audit', 'entries')).catch(() => [])).toEqual([]);

    // its next append writes the carried entry's object first
    await next.append({ actor: 'bob', action: 'session.land', target: 'session:s3', result: 'ok' });
    const names = await readdir(join(dir, 'audit', 'entries'));
    expect(names.some((n) => n.endsWith(`-${e1.hash}`))).toBe(true);
    v = await next.verify();
    expect(v).toMatchObject({ ok: true, entries: 2, orphans: [] });
    expect((await next.query()).map((e) => e.target)).toEqual(['session:s3', 'session:s1']);
  });

  it('a changed entry carried in the head is named', async () => {
    const dir = await tempDir();
    const log = new AuditLog(new LostEntryWrites(dir));
    await log.append({ actor: 'alice', action: 'session.land', target: 'session:s1', result: 'ok' });
    const headPath = join(dir, 'audit', 'head');
    const head = JSON.parse(await readFile(headPath, 'utf8')) as { entry: { actor: string } };
    head.entry.actor = 'mallory';
    await writeFile(headPath, JSON.stringify(head));
    const v = await new AuditLog(new LocalBackend(dir)).verify();
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({ seq: 1, problem: expect.stringMatching(/entry 1 was changed/) });
  });

  it('reads and extends a chain whose head does not carry its entry (written before)', async () => {
    const dir = await tempDir();
    const log = new AuditLog(new LocalBackend(dir));
    for (let i = 1; i <= 3; i++) await log.append({ actor: 'alice', action: 'session.land', target: `session:s${i}`, result: 'ok' });
    // the head in the older form {seq, hash}, its entry's object written before it
    const headPath = join(dir, 'audit', 'head');
    const head = JSON.parse(await readFile(headPath, 'utf8')) as { seq: number; hash: string; entry: unknown };
    await writeFile(join(dir, 'audit', 'entries', `${String(head.seq).padStart(12, '0')}-${head.hash}`), JSON.stringify(head.entry) + '\n');
    await writeFile(headPath, JSON.stringify({ seq: head.seq, hash: head.hash }));
    const old = new AuditLog(new LocalBackend(dir));
    expect(await old.verify()).toMatchObject({ ok: true, entries: 3 });
    expect((await old.query()).map((e) => e.target)).toEqual(['session:s3', 'session:s2', 'session:s1']);
    await old.append({ actor: 'carol', action: 'session.land', target: 'session:s4', result: 'ok' });
    expect(await old.verify()).toMatchObject({ ok: true, entries: 4 });
  });
});
