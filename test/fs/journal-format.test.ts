// The session journal's binary format (src/core/journal-codec.ts), over the wire in the real daemon:
//   - what it writes is the binary format, and every acknowledged change comes back after SIGKILL;
//   - a journal written by an earlier version (JSON lines, with a torn last line) is replayed after an
//     upgrade, and appended to in its own format while no checkpoint can be written;
//   - after a torn last frame (a crash mid-write) the journal goes on: what is appended after the restart
//     is replayed at the next one (not lost behind the torn frame).
//   - a landed session's journal is dropped, not checkpointed and fdatasynced on the event loop (its
//     directory is deleted right after): traced with the LD_PRELOAD shim (test/lib/fault-shim.c).
// A directory in the place of checkpoint.json.tmp makes every checkpoint fail (as a full disk would), so the
// daemon keeps appending to the journal it found instead of starting a new generation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { decodeJournal, MAGIC } from '../../src/core/journal-codec.js';
import { buildFaultShim } from '../lib/fault-shim.js';

let tmp: string;
let faults: string;
let env: Record<string, string>;
let d: Daemon;
let client: Nfs3Client;
let exportPath: string;
let sessionDir: string;
/** an API on a free port (the default one may be another test's daemon's): the CLI lands through it */
const API = ['--api-port', '0'];
/** name -> content of every file acknowledged so far */
const files = new Map<string, string>();

async function connect(): Promise<Buffer> {
  client = await Nfs3Client.connect(d.port);
  return client.mountRoot(exportPath);
}

/** Kills the daemon, runs `edit` on its files, starts it again on the same data directory. */
async function killAndRestart(edit: () => void = () => {}): Promise<Buffer> {
  await client.close();
  await d.stop('SIGKILL', { cleanup: false });
  edit();
  d = await startDaemon({ dataDir: d.dataDir, env, args: API });
  return connect();
}

function journalFile(): string {
  const gens = fs.readdirSync(sessionDir).filter((f) => /^journal\.\d+$/.test(f));
  expect(gens).toHaveLength(1);
  return path.join(sessionDir, gens[0]!);
}

async function createFiles(root: Buffer, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${i}.txt`;
    const c = await client.create(root, name, { kind: 'unchecked', attrs: { mode: 0o644 } });
    expect(c.status).toBe(NfsStatus.OK);
    const text = `${name} ${'x'.repeat(i)}\n`;
    expect((await client.write(c.fh!, 0, Buffer.from(text), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    files.set(name, text);
  }
}

async function expectFiles(root: Buffer): Promise<void> {
  for (const [name, text] of files) {
    const l = await client.lookup(root, name);
    expect(l.status, name).toBe(NfsStatus.OK);
    expect((await client.read(l.fh!, 0, 4096)).data?.toString(), name).toBe(text);
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mic-journal-format-'));
  faults = path.join(tmp, 'faults');
  fs.mkdirSync(faults);
  const shim = buildFaultShim(tmp);
  env = { LD_PRELOAD: shim, MIC_FAULT_DIR: faults };
  d = await startDaemon({ dataDir: path.join(tmp, 'data'), env, args: API });
  await d.initProject('jf/p', { 'a.txt': 'a\n' });
  const s = await d.startSession('jf/p', 'journal format');
  exportPath = s.export;
  sessionDir = path.join(d.dataDir, 'sessions', s.session_id);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await d?.stop('SIGKILL', { cleanup: false });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('journal format', () => {
  it('writes binary frames; creates, renames, removes and mkdirs come back after SIGKILL', async () => {
    let root = await connect();
    await createFiles(root, 'b', 12);
    expect((await client.rename(root, 'b0.txt', root, 'renamed.txt')).status).toBe(NfsStatus.OK);
    files.set('renamed.txt', files.get('b0.txt')!);
    files.delete('b0.txt');
    expect((await client.remove(root, 'b1.txt')).status).toBe(NfsStatus.OK);
    files.delete('b1.txt');
    expect((await client.mkdir(root, 'dir', { mode: 0o755 })).status).toBe(NfsStatus.OK);

    const journal = fs.readFileSync(journalFile());
    expect(journal.subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
    const kinds = new Set(decodeJournal(journal).map((r) => r.t));
    expect([...kinds].sort()).toEqual(['a', 'g', 'i', 'r']);

    root = await killAndRestart();
    await expectFiles(root);
    expect((await client.lookup(root, 'b1.txt')).status).toBe(NfsStatus.NOENT);
    expect((await client.lookup(root, 'dir')).status).toBe(NfsStatus.OK);
  });

  it('replays a JSON-lines journal of an earlier version, torn last line and all, and appends to it as JSON', async () => {
    let root = await connect();
    await createFiles(root, 'j', 10);
    // the daemon dies; its journal is rewritten as an earlier version would have left it, and every
    // checkpoint fails from now on, so the daemon must go on appending to that journal
    root = await killAndRestart(() => {
      const file = journalFile();
      const records = decodeJournal(fs.readFileSync(file));
      expect(records.length).toBeGreaterThan(20);
      fs.writeFileSync(file, records.map((r) => JSON.stringify(r) + '\n').join('') + '{"t":"i","s":{"ino":9');
      fs.mkdirSync(path.join(sessionDir, 'checkpoint.json.tmp'));
    });
    await expectFiles(root);
    expect(d.log()).toContain('checkpoint not written');
    await createFiles(root, 'k', 10);
    const text = fs.readFileSync(journalFile(), 'utf8');
    expect(text.startsWith('{')).toBe(true);
    expect(text).toContain('"n":"k9.txt"');
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .every((l) => JSON.parse(l) !== null),
    ).toBe(true);

    root = await killAndRestart();
    await expectFiles(root);
  });

  it('goes on after a torn last frame: what is appended after it is replayed', async () => {
    // a checkpoint now (the obstacle gone) starts a binary journal; then checkpoints fail again
    let root = await killAndRestart(() => fs.rmdirSync(path.join(sessionDir, 'checkpoint.json.tmp')));
    await createFiles(root, 't', 5);
    root = await killAndRestart(() => {
      const file = journalFile();
      expect(fs.readFileSync(file).subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
      // a frame whose write was cut short by the crash: its header promises more than is there
      const torn = Buffer.alloc(20);
      torn.writeUInt32LE(400, 0);
      fs.appendFileSync(file, torn);
      fs.mkdirSync(path.join(sessionDir, 'checkpoint.json.tmp'));
    });
    await expectFiles(root);
    await createFiles(root, 'u', 5);
    root = await killAndRestart(() => fs.rmdirSync(path.join(sessionDir, 'checkpoint.json.tmp')));
    await expectFiles(root);
    expect(files.size).toBe(11 + 10 + 10 + 5 + 5); // b*: 12 made, one renamed, one removed
  });
});

describe('closing a landed session', () => {
  const traceLog = () => path.join(faults, 'trace.log');
  const traced = (): string[] => (fs.existsSync(traceLog()) ? fs.readFileSync(traceLog(), 'utf8').split('\n').filter(Boolean) : []);

  it('releases its state without a checkpoint or fdatasync (its directory is deleted right after)', async () => {
    const s = await d.startSession('jf/p', 'land without syncing the state away');
    const dir = path.join(d.dataDir, 'sessions', s.session_id);
    await client?.close();
    client = await Nfs3Client.connect(d.port);
    const sroot = await client.mountRoot(s.export);
    const fh = (await client.create(sroot, 'landed.txt', { kind: 'guarded', attrs: { mode: 0o644 } })).fh!;
    expect((await client.write(fh, 0, Buffer.from('landed\n'), StableHow.FILE_SYNC)).status).toBe(NfsStatus.OK);
    // an UNSTABLE write not committed: a clean close would journal its inode and checkpoint
    expect((await client.write(fh, 7, Buffer.from('more\n'), StableHow.UNSTABLE)).status).toBe(NfsStatus.OK);
    fs.writeFileSync(path.join(faults, 'trace'), '');
    fs.rmSync(traceLog(), { force: true });
    const r = await d.mic(['session', 'land', s.session_id, '-m', 'landed', '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    expect(traced().length).toBeGreaterThan(0); // the shim traces: the seal's object writes are synced
    const synced = traced().filter((l) => /^f(data)?sync /.test(l) && l.includes(`${dir}/`));
    expect(synced.filter((l) => l.includes('/journal.') || l.includes('/checkpoint.json'))).toEqual([]);
    // what landed is the session's content, the UNSTABLE write included (sealing reads the data file)
    const next = await d.startSession('jf/p', 'after the landing');
    const nroot = await client.mountRoot(next.export);
    const l = await client.lookup(nroot, 'landed.txt');
    expect(l.status).toBe(NfsStatus.OK);
    expect((await client.read(l.fh!, 0, 100)).data!.toString()).toBe('landed\nmore\n');
  });
});
