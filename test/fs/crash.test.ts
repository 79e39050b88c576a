// Issue 8 section 5, the crash test: a workload of FILE_SYNC writes, UNSTABLE writes + COMMIT, creates,
// renames, hard links, truncates, removes and landings against the real daemon (dist/, its own process),
// killed with SIGKILL at random points. The client keeps a shadow copy. After every restart:
//   - every acknowledged operation is there with the right bytes (the one in flight at the kill may or may
//     not be: either state is accepted, and the shadow follows what is there);
//   - UNSTABLE writes not yet committed face a new write verifier (RFC 1813 3.3.7), and are resent;
//   - the store is consistent: every tree and blob the head names reads back with its hash.
// MIC_CRASH_KILLS sets the number of kills (default 50; bench mode: MIC_CRASH_KILLS=500), MIC_CRASH_SEED the seed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../lib/daemon.js';
import { Nfs3Client, NfsStatus, StableHow } from '../lib/nfs3-client.js';
import { openCatalog } from '../../src/daemon/data-dir.js';
import { EMPTY_TREE, type ObjectStore } from '../../src/store/index.js';
import { fsck } from '../../src/session/fsck.js';

const KILLS = Number(process.env.MIC_CRASH_KILLS ?? 50);
const SEED = Number(process.env.MIC_CRASH_SEED ?? Date.now() % 1_000_000);
const PROJECT = 'crash/p';

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(a: T[]): T => a[int(a.length)]!;
const bytes = (n: number) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = 97 + int(26);
  return b;
};

/** The shadow of the epoch directory: names -> file ids, file ids -> content. */
interface Shadow {
  names: Map<string, number>;
  content: Map<number, Buffer>;
}
const clone = (s: Shadow): Shadow => ({ names: new Map(s.names), content: new Map([...s.content].map(([k, v]) => [k, Buffer.from(v)])) });
function written(old: Buffer, off: number, data: Buffer): Buffer {
  const out = Buffer.alloc(Math.max(old.length, off + data.length));
  old.copy(out);
  data.copy(out, off);
  return out;
}
function truncated(old: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  old.copy(out, 0, 0, Math.min(size, old.length));
  return out;
}

let d: Daemon;
let client: Nfs3Client;
let session = '';
let exportPath = '';
let epoch = 0;
let shadow: Shadow = { names: new Map(), content: new Map() };
/** landed epochs: directory name -> (name -> content) */
const landed = new Map<string, Map<string, Buffer>>();
let nextFile = 1;
let nextName = 1;
const stats = { kills: 0, ops: 0, acked: 0, inFlight: 0, landings: 0, verifierChecks: 0, filesVerified: 0 };

async function rootFh(): Promise<Buffer> {
  return client.mountRoot(exportPath);
}
async function epochDir(): Promise<Buffer> {
  const r = await client.lookup(await rootFh(), `e${epoch}`);
  if (r.status !== NfsStatus.OK) throw new Error(`epoch dir e${epoch}: ${NfsStatus[r.status]}`);
  return r.fh!;
}
async function fhOf(dir: Buffer, name: string): Promise<Buffer> {
  const r = await client.lookup(dir, name);
  if (r.status !== NfsStatus.OK) throw new Error(`lookup ${name}: ${NfsStatus[r.status]}`);
  return r.fh!;
}
function ok(status: NfsStatus, what: string): void {
  if (status !== NfsStatus.OK) throw new Error(`${what}: ${NfsStatus[status]}`);
}

async function newSession(): Promise<void> {
  const s = await d.startSession(PROJECT, `crash epoch ${epoch + 1}`);
  session = s.session_id;
  exportPath = s.export;
  epoch++;
  shadow = { names: new Map(), content: new Map() };
  await makeEpochDir();
}

/** The epoch directory (again, when a kill hit its MKDIR). */
async function makeEpochDir(): Promise<void> {
  const root = await rootFh();
  if ((await client.lookup(root, `e${epoch}`)).status === NfsStatus.OK) return;
  ok((await client.mkdir(root, `e${epoch}`, { mode: 0o755 })).status, 'mkdir epoch');
}

/** UNSTABLE writes acknowledged but not committed: resent after a verifier change. */
let uncommitted: { name: string; off: number; data: Buffer; verf: Buffer }[] = [];

interface Unstable {
  name: string;
  writes: { off: number; data: Buffer }[];
}
type Step = { after: Shadow; run: (dir: Buffer) => Promise<void>; unstable?: Unstable; what?: string } | { land: true };
/** the last operations, for the message of a failure */
const history: string[] = [];
const note = (line: string) => {
  history.push(line);
  if (history.length > 30) history.shift();
};

/** One random operation: what the shadow becomes, and how to do it over the wire. */
function nextStep(): Step {
  const names = [...shadow.names.keys()];
  const r = rand();
  if (r < 0.04 && stats.kills > 0) return { land: true };
  if (names.length < 3 || r < 0.2) {
    const name = `f${nextName++}`;
    const after = clone(shadow);
    after.names.set(name, nextFile);
    after.content.set(nextFile++, Buffer.alloc(0));
    return {
      after,
      what: `create ${name}`,
      run: async (dir) => ok((await client.create(dir, name, { kind: 'guarded', attrs: { mode: 0o644 } })).status, 'create'),
    };
  }
  const name = pick(names);
  const id = shadow.names.get(name)!;
  const cur = shadow.content.get(id)!;
  const after = clone(shadow);
  if (r < 0.45) {
    const off = int(cur.length + 200),
      data = bytes(1 + int(6000));
    after.content.set(id, written(cur, off, data));
    return {
      after,
      what: `write ${name} @${off}+${data.length} -> ${after.content.get(id)!.length}`,
      run: async (dir) => ok((await client.write(await fhOf(dir, name), off, data, StableHow.FILE_SYNC)).status, 'write'),
    };
  }
  if (r < 0.65) {
    // UNSTABLE writes, then COMMIT: durable only once the COMMIT answers with the writes' verifier
    const writes = Array.from({ length: 1 + int(3) }, () => ({ off: int(cur.length + 4000), data: bytes(1 + int(8000)) }));
    let c = cur;
    for (const w of writes) c = written(c, w.off, w.data);
    after.content.set(id, c);
    return {
      after,
      what: `unstable ${name} x${writes.length} -> ${c.length}`,
      unstable: { name, writes },
      run: async (dir) => {
        const fh = await fhOf(dir, name);
        for (const w of writes) {
          const res = await client.write(fh, w.off, w.data, StableHow.UNSTABLE);
          ok(res.status, 'unstable write');
          uncommitted.push({ name, off: w.off, data: w.data, verf: res.verf! });
        }
        const cm = await client.commit(fh);
        ok(cm.status, 'commit');
        expect(cm.verf!.equals(uncommitted[0]!.verf)).toBe(true); // no restart in between
        uncommitted = [];
      },
    };
  }
  if (r < 0.75) {
    const to = rand() < 0.3 && names.length > 1 ? pick(names.filter((n) => n !== name)) : `f${nextName++}`;
    // POSIX: renaming a name onto another link of the same file does nothing
    if (shadow.names.get(to) !== id) {
      after.names.delete(name);
      after.names.set(to, id);
    }
    return { after, what: `rename ${name} ${to}`, run: async (dir) => ok((await client.rename(dir, name, dir, to)).status, 'rename') };
  }
  if (r < 0.83) {
    const to = `f${nextName++}`;
    after.names.set(to, id);
    return {
      after,
      what: `link ${name} ${to}`,
      run: async (dir) => ok((await client.link(await fhOf(dir, name), dir, to)).status, 'link'),
    };
  }
  if (r < 0.93) {
    const size = int(cur.length + 3000);
    after.content.set(id, truncated(cur, size));
    return {
      after,
      what: `truncate ${name} ${size}`,
      run: async (dir) => ok((await client.setattr(await fhOf(dir, name), { size })).status, 'truncate'),
    };
  }
  after.names.delete(name);
  return { after, what: `remove ${name}`, run: async (dir) => ok((await client.remove(dir, name)).status, 'remove') };
}

/** The epoch directory as it is: name -> content. */
async function actual(): Promise<Map<string, Buffer>> {
  const dir = await epochDir();
  const out = new Map<string, Buffer>();
  for (const e of await client.readdirAll(dir)) {
    if (e.name === '.' || e.name === '..') continue;
    const fh = await fhOf(dir, e.name);
    const chunks: Buffer[] = [];
    for (let off = 0; ;) {
      const r = await client.read(fh, off, 65536);
      ok(r.status, `read ${e.name}`);
      chunks.push(r.data!);
      off += r.data!.length;
      if (r.eof || r.data!.length === 0) break;
    }
    out.set(e.name, Buffer.concat(chunks));
  }
  return out;
}

function view(s: Shadow): Map<string, Buffer> {
  return new Map([...s.names].map(([n, id]) => [n, s.content.get(id)!]));
}

function same(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

function diff(want: Map<string, Buffer>, got: Map<string, Buffer>): string {
  const out: string[] = [];
  for (const [k, v] of want)
    if (!got.has(k)) out.push(`missing ${k}`);
    else if (!got.get(k)!.equals(v)) out.push(`${k}: ${got.get(k)!.length} bytes, want ${v.length}`);
  for (const k of got.keys()) if (!want.has(k)) out.push(`unexpected ${k}`);
  return out.join('; ');
}

/** fsck finds nothing missing or corrupt, and every file landed so far reads back from the head. */
async function checkStore(): Promise<void> {
  const catalog = openCatalog(d.dataDir);
  const check = await fsck(catalog.backend, { projects: [PROJECT] });
  expect(check.problems, JSON.stringify(check.projects.map((p) => p.problems))).toBe(0);
  const store: ObjectStore = catalog.store(PROJECT);
  const head = await store.getHead();
  const walk = async (tree: string, prefix: string): Promise<Map<string, Buffer>> => {
    const files = new Map<string, Buffer>();
    for (const e of await store.listDir(tree)) {
      if (e.kind === 'dir') for (const [k, v] of await walk(e.hash ?? EMPTY_TREE, `${prefix}${e.name}/`)) files.set(k, v);
      else if (e.kind === 'file') files.set(prefix + e.name, await store.getBlob(e.hash!));
    }
    return files;
  };
  const all = await walk(head!.record.tree, '');
  for (const [dir, files] of landed) {
    for (const [name, content] of files) {
      expect(all.get(`${dir}/${name}`)?.equals(content), `${dir}/${name} in the head`).toBe(true);
    }
  }
}

async function sessionStatus(): Promise<{ status: string; headSession: string | null }> {
  const catalog = openCatalog(d.dataDir);
  const status = (await catalog.get(session))!.status;
  const head = await catalog.store(PROJECT).getHead();
  return { status, headSession: head?.record.session ?? null };
}

async function afterLanding(): Promise<void> {
  landed.set(`e${epoch}`, view(shadow));
  stats.landings++;
  await checkStore();
  await newSession();
}

async function land(): Promise<'landed' | 'killed'> {
  const r = await d.mic(['session', 'land', session, '-m', `epoch ${epoch}`, '--json']);
  if (r.code !== 0) return 'killed';
  await afterLanding();
  return 'landed';
}

/** After a restart: the state is the shadow, or (for the operation in flight) what it would become. */
async function recover(inFlight: Step | null): Promise<void> {
  await client.close();
  client = await Nfs3Client.connect(d.port);
  if (inFlight && 'land' in inFlight) {
    const st = await sessionStatus();
    if (st.status === 'landed') {
      await afterLanding();
      return;
    }
    if (st.headSession === session) {
      // the head moved but the record was not updated: landing again finishes that landing
      expect(await land()).toBe('landed');
      return;
    }
    await makeEpochDir(); // the kill may have hit the new session's MKDIR
  }
  if (inFlight && 'unstable' in inFlight && inFlight.unstable) {
    const { name, writes } = inFlight.unstable;
    const dir = await epochDir();
    const fh = await fhOf(dir, name);
    if (uncommitted.length) {
      // RFC 1813 3.3.7: acknowledged UNSTABLE data may be lost, so the verifier must have changed
      const cm = await client.commit(fh);
      ok(cm.status, 'commit after restart');
      expect(cm.verf!.equals(uncommitted[0]!.verf)).toBe(false);
      stats.verifierChecks++;
    }
    // the client resends what it has not seen committed: the whole group
    for (const w of writes) ok((await client.write(fh, w.off, w.data, StableHow.UNSTABLE)).status, 'resend');
    ok((await client.commit(fh)).status, 'commit resent');
    uncommitted = [];
    shadow = inFlight.after;
    inFlight = null;
  }
  const got = await actual();
  stats.filesVerified += got.size;
  if (same(view(shadow), got)) return;
  if (inFlight && 'after' in inFlight && same(view(inFlight.after), got)) {
    shadow = inFlight.after;
    return;
  }
  throw new Error(`after kill ${stats.kills} (seed ${SEED}): ${diff(view(shadow), got)}\nlast operations:\n${history.join('\n')}`);
}

beforeAll(async () => {
  d = await startDaemon({ env: { MIC_API_PORT: '0' } });
  await d.initProject(PROJECT, { 'README.md': 'crash test\n' });
  client = await Nfs3Client.connect(d.port);
  await newSession();
}, 60_000);

afterAll(async () => {
  await client?.close();
  await d?.stop('SIGKILL');
});

describe('SIGKILL at random points', () => {
  it(`every acknowledged operation survives ${KILLS} kills`, async () => {
    while (stats.kills < KILLS) {
      // one cycle: operations until the kill, which comes at a random moment
      const killAt = 5 + int(150);
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        void d.stop('SIGKILL', { cleanup: false });
      }, killAt);
      let inFlight: Step | null = null;
      try {
        for (;;) {
          const step = nextStep();
          inFlight = step;
          stats.ops++;
          note(`kill ${stats.kills} epoch ${epoch}: ${'land' in step ? 'land' : step.what} ...`);
          if ('land' in step) {
            if ((await land()) === 'killed') break;
          } else {
            await step.run(await epochDir());
            shadow = step.after;
          }
          stats.acked++;
          history[history.length - 1] += ' acked';
          inFlight = null;
          if (killed) break;
        }
      } catch (e) {
        if (!killed) throw e; // a failure without a kill is a bug
      }
      clearTimeout(timer);
      if (!killed) await d.stop('SIGKILL', { cleanup: false });
      if (inFlight) stats.inFlight++;
      stats.kills++;
      await d.restart({ signal: 'SIGKILL' });
      await recover(inFlight);
    }
    await land();
    await checkStore();
    console.log(`crash test (seed ${SEED}): ${JSON.stringify(stats)}`);
    expect(stats.kills).toBe(KILLS);
    expect(stats.landings).toBeGreaterThan(0);
  }, 600_000);
});
