// export-git: every head not yet in the repository becomes a commit whose tree is the head's tree.
// A head imported by import-git is written with its commit's own author, committer, message and
// parents, so it gets its original commit id back; other heads become commits with the landing message
// and trailers (Mic-Session, Goal, Decision), the session record in a note under refs/notes/mic.
// One `git fast-import` stream (export-stream.ts) does it all; what was exported is remembered per repository.
import { stat } from 'node:fs/promises';
import { ObjectStore, type ObjectBackend } from '../store/index.js';
import { syncReads } from './sync-read.js';
import { Catalog } from '../session/catalog.js';
import { GitError, git, gitText, requireGit } from './run.js';
import { BatchCheck } from './batch-check.js';
import { exportStateKey, readImportState, type ExportState } from './state.js';
import { writeExportStream, type ExportNode as Node, type Rec } from './export-stream.js';

export interface ExportOptions {
  branch?: string;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface ExportResult {
  project: string;
  repo: string;
  branch: string;
  /** commit of the project head */
  commit: string | null;
  exported: number;
  /** heads whose commits were already in the repository */
  reused: number;
  notes: number;
  warnings: string[];
}

/** Opens or creates the target repository; returns its git dir. */
async function targetRepo(dir: string): Promise<string> {
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) await git(['init', '--quiet', '--bare', dir]);
  const inside = await git(['rev-parse', '--absolute-git-dir'], { cwd: dir, allowFail: true });
  if (inside.code !== 0) await git(['init', '--quiet', dir]);
  return gitText(['rev-parse', '--absolute-git-dir'], dir);
}

export async function exportGit(catalog: Catalog, project: string, repoDir: string, o: ExportOptions = {}): Promise<ExportResult> {
  requireGit();
  const reads = syncReads(catalog.backend);
  try {
    return await exportWith(reads ? new Catalog(reads) : catalog, reads ?? catalog.backend, project, repoDir, o);
  } finally {
    reads?.close();
  }
}

async function exportWith(
  catalog: Catalog,
  backend: ObjectBackend,
  project: string,
  repoDir: string,
  o: ExportOptions,
): Promise<ExportResult> {
  // a small blob cache: each blob is read once (export-stream.ts gives it a mark); a big one only costs GC
  const store = new ObjectStore(backend, project, { cacheBytes: 4 * 1024 * 1024 });
  const cur = await store.getHead();
  if (!cur) throw new GitError(`project ${project} has no head`);
  const dir = await targetRepo(repoDir);
  const branch = o.branch ?? `mic/${project.split('/')[1]}`;
  if ((await git(['check-ref-format', `refs/heads/${branch}`], { allowFail: true })).code !== 0)
    throw new GitError(`${branch} is not a valid branch name`);
  const stateKey = exportStateKey(dir);
  const st: ExportState = (await store.getJson<ExportState>(stateKey)) ?? { repo: dir, branch, heads: {}, tip_head: null };
  const imported = await readImportState(store);
  const importedHead = new Map<string, string>(); // head -> commit
  for (const [c, h] of Object.entries(imported?.commits ?? {})) importedHead.set(h, c);
  const result: ExportResult = { project, repo: dir, branch, commit: null, exported: 0, reused: 0, notes: 0, warnings: [] };

  const check = new BatchCheck(dir);
  const nodes = new Map<string, Node>();
  try {
    // A head's records are read and its commit looked up in the repository at once; the lookups are
    // pipelined (BatchCheck), so the walk keeps a window of first-parent ancestors in flight.
    const started = new Map<string, Promise<{ n: Node; ready: Promise<Node> }>>();
    const stage = (head: string): Promise<{ n: Node; ready: Promise<Node> }> => {
      let p = started.get(head);
      if (!p) {
        p = loadNode(head);
        started.set(head, p);
      }
      return p;
    };
    const load = async (head: string): Promise<Node> => (await stage(head)).ready;
    const readAhead = async (head: string, k: number): Promise<void> => {
      for (let h: string | null = head; h !== null && k-- > 0;) h = (await stage(h)).n.rec.parent;
    };
    const loadNode = async (head: string): Promise<{ n: Node; ready: Promise<Node> }> => {
      const rec = await store.getHeadRecord(head);
      const session = rec.session ? ((await catalog.get(rec.session)) as Rec | null) : null;
      const sha = importedHead.get(head);
      const info = sha && session?.git?.commit === sha ? session.git : null;
      const n: Node = { head, rec, session, info, parents: [], oid: null, mark: 0, gitlinks: info?.gitlinks ?? {} };
      if (rec.parent) n.parents.push({ head: rec.parent });
      for (const p of info?.parents.slice(1) ?? []) {
        const h = imported?.commits[p];
        n.parents.push(h ? { head: h } : { oid: p });
      }
      const candidate = st.heads[head] ?? sha;
      nodes.set(head, n);
      const ready = candidate
        ? check.type(candidate).then((t) => {
            if (t === 'commit') n.oid = candidate;
            return n;
          })
        : Promise.resolve(n);
      ready.catch(() => {}); // awaited by the walk when it gets there
      return { n, ready };
    };

    // post-order walk from the head: parents before children, stopping at commits the repository has
    const order: Node[] = [];
    const done = new Set<string>();
    const stack: Node[] = [await load(cur.hash)];
    let visits = 0;
    while (stack.length) {
      const n = stack[stack.length - 1]!;
      if (visits++ % 32 === 0) readAhead(n.head, 64).catch(() => {}); // a failure shows when the walk gets there
      if (done.has(n.head)) {
        stack.pop();
        continue;
      }
      if (n.oid) {
        done.add(n.head);
        stack.pop();
        result.reused++;
        continue;
      }
      let pushed = false;
      for (const p of n.parents) {
        if ('head' in p && !done.has(p.head)) {
          stack.push(await load(p.head));
          pushed = true;
          break;
        }
      }
      if (pushed) continue;
      done.add(n.head);
      stack.pop();
      order.push(n);
    }
    const missingParents = new Set<string>();
    for (const n of order) {
      for (const p of n.parents) {
        if (!('oid' in p) || (await check.type(p.oid)) === 'commit') continue;
        missingParents.add(p.oid);
        result.warnings.push(
          `commit ${n.info?.commit.slice(0, 12) ?? n.head.slice(0, 12)}: parent ${p.oid.slice(0, 12)} was not imported and is not in ${dir}; written without it, so its id changes`,
        );
      }
    }

    // submodules: an imported head has its commit's; any other head keeps its parent's
    const links = new Map<string, Record<string, string>>();
    const gitlinksOf = async (head: string): Promise<Record<string, string>> => {
      const path: string[] = [];
      let h: string | null = head;
      let found: Record<string, string> = {};
      while (h) {
        const known = links.get(h) ?? (nodes.get(h)?.info ? (nodes.get(h)!.info!.gitlinks ?? {}) : undefined);
        if (known) {
          found = known;
          break;
        }
        const sha = importedHead.get(h);
        if (sha) {
          const rec = await store.getHeadRecord(h);
          const sess = rec.session ? ((await catalog.get(rec.session)) as Rec | null) : null;
          if (sess?.git?.commit === sha) {
            found = sess.git.gitlinks ?? {};
            break;
          }
        }
        path.push(h);
        h = (nodes.get(h)?.rec ?? (await store.getHeadRecord(h))).parent;
      }
      for (const p of path) links.set(p, found);
      links.set(head, found);
      return found;
    };
    for (const n of order) {
      n.gitlinks = await gitlinksOf(n.head);
      if (n.rec.parent) await gitlinksOf(n.rec.parent);
    }
    const tipNode = nodes.get(cur.hash)!;
    if (order.length) await writeExportStream(store, dir, branch, order, nodes, missingParents, result, o, (h) => links.get(h) ?? {});
    else {
      const ok = await git(['update-ref', `refs/heads/${branch}`, tipNode.oid!], { cwd: dir, allowFail: true });
      if (ok.code !== 0) throw new GitError(`cannot move ${branch}: ${ok.stderr}`);
    }
    for (const n of order) {
      st.heads[n.head] = n.oid!;
      if (n.info && n.oid !== n.info.commit)
        result.warnings.push(
          `commit ${n.info.commit.slice(0, 12)} was written as ${n.oid!.slice(0, 12)} (its original carries data fast-import cannot reproduce, e.g. a signature)`,
        );
    }
    st.tip_head = cur.hash;
    st.branch = branch;
    await store.putJson(stateKey, st);
    result.commit = tipNode.oid;
    return result;
  } finally {
    await check.close();
  }
}
