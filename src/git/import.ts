// import-git: a repository's history becomes heads of a project, each landed by one session whose
// record says which commit it was. Reads `git fast-export` (blobs once each, then each commit's changes
// against its first parent) and writes blobs, tree nodes, head records and session records straight to
// the store through a write-behind queue; the head moves once, after everything is durable.
import { CHUNK_THRESHOLD } from '../store/manifest.js';
import { EMPTY_TREE, ObjectStore, objectRelKey, sha256Hex, validateProject, type HeadRecord } from '../store/index.js';
import type { Catalog } from '../session/catalog.js';
import type { SessionRecord } from '../session/record.js';
import { mergeTrees, type Conflict } from '../session/merge.js';
import { getHeadIndex, indexHead } from '../session/blame-index.js';
import { GitError, git, gitStream, gitText, requireGit } from './run.js';
import { openRepo } from './open-repo.js';
import { parseFastExport, type CommitEvent } from './fast-export.js';
import { ChangeSet, type Leaf } from './tree-apply.js';
import { BlameSeed } from './blame-seed.js';
import { SpecialCommits } from './raw-commits.js';
import { nameOf, namesOf } from './paths.js';
import { WriteBehindBackend } from './write-behind.js';
import { IMPORT_STATE, readImportState, type ImportState } from './state.js';
import { isoOf, lineText, messageFields, parseIdentity, type GitCommitInfo } from './commit-info.js';
import { headRecordBytes, importedRecord, sessionIdFor } from './import-record.js';

export { openRepo } from './open-repo.js';
export { sessionIdFor } from './import-record.js';

export interface ImportProgress {
  done: number;
  total: number;
  phase: 'import' | 'flush' | 'land';
}

export interface ImportOptions {
  ref?: string;
  firstParent?: boolean;
  /** land new commits on top of sessions landed since the last import */
  ontoHead?: boolean;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportResult {
  project: string;
  repo: string;
  ref: string;
  tip: string;
  /** commits imported by this run, and commits already known */
  imported: number;
  known: number;
  head: string | null;
  warnings: string[];
  conflicts: (Conflict & { commit: string })[];
  objects: { written: number; bytes: number };
}

export class ImportRefusedError extends Error {}

interface Imported {
  head: string;
  tree: string;
  nextIno: number;
  gitlinks: Map<string, string>;
  oid: string;
  from: string | null;
  record: HeadRecord;
  sid: string;
}

/** Blobs up to this size are kept in RAM for the whole import (symlink targets are read from them). */
const SMALL_BLOB = 1024;

/** Longest change list kept in a session record (GitCommitInfo.changes). */
const MAX_RECORDED_CHANGES = 4096;

const FILE_MODES: Record<string, number> = { '100644': 0o644, '100755': 0o755, '100664': 0o644, '644': 0o644, '755': 0o755 };

export async function importGit(catalog: Catalog, project: string, repoArg: string, o: ImportOptions = {}): Promise<ImportResult> {
  requireGit();
  validateProject(project);
  const { dir, cleanup } = await openRepo(repoArg);
  try {
    return await importFrom(catalog, project, dir, repoArg, o);
  } finally {
    await cleanup();
  }
}

async function importFrom(catalog: Catalog, project: string, dir: string, repoArg: string, o: ImportOptions): Promise<ImportResult> {
  const ref = o.ref ?? 'HEAD';
  const tip = await gitText(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], dir).catch(() => {
    throw new GitError(`${repoArg} has no ref ${ref}`);
  });
  const main = catalog.store(project);
  const state = await readImportState(main);
  const cur = await main.getHead();
  const known = new Map(Object.entries(state?.commits ?? {}));
  const knownHeads = new Set(known.values());
  const landedSince = cur !== null && !knownHeads.has(cur.hash);
  if (landedSince && !o.ontoHead) {
    throw new ImportRefusedError(
      state
        ? `project ${project} has sessions landed since the last import (head ${cur.hash.slice(0, 12)}); use --onto-head to land the new commits on top of them`
        : `project ${project} already has a head not imported from git (${cur.hash.slice(0, 12)}); use --onto-head to land the commits on top of it`,
    );
  }
  const warnings: string[] = [];
  const result: ImportResult = {
    project,
    repo: dir,
    ref,
    tip,
    imported: 0,
    known: 0,
    head: cur?.hash ?? null,
    warnings,
    conflicts: [],
    objects: { written: 0, bytes: 0 },
  };
  if (known.has(tip)) {
    result.known = 1;
    return result;
  }
  // commits reachable from an earlier tip are known; exclude them from the stream
  const exclude =
    state?.tip && (await git(['cat-file', '-e', `${state.tip}^{commit}`], { cwd: dir, allowFail: true })).code === 0
      ? [`^${state.tip}`]
      : [];
  const revs = [...(o.firstParent ? ['--first-parent'] : []), tip, ...exclude];
  const total = Number(await gitText(['rev-list', '--count', ...revs], dir));

  const wb = WriteBehindBackend.over(catalog.backend);
  const store = new ObjectStore(wb, project, { cacheBytes: 32 * 1024 * 1024 });
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const byKey = new Map<string, Imported>(); // mark or commit id -> imported commit
  const marks = new Map<string, { hash: string; size: number; small?: Buffer }>();
  const gitlinkWarned = new Set<string>();
  const now = new Date().toISOString();
  let bgFailure: unknown = null;
  const bg = (p: Promise<unknown>) => {
    p.catch((e: unknown) => {
      bgFailure ??= e;
    });
  };

  // blame: a first import seeds the tip's index from the changes along its first-parent chain; a re-import
  // onto an indexed tip continues that index head by head (blame-seed.ts)
  const seed = known.size === 0 ? new BlameSeed() : null;
  const tipChain = new Set(seed ? (await gitText(['rev-list', '--first-parent', tip], dir)).split('\n') : []);
  const incrementalIndex = !seed && state?.tip_head ? (await getHeadIndex(store, state.tip_head)) !== null : false;

  // read alongside the fast-export stream (its first commit waits for it)
  const special = new SpecialCommits(dir, revs);
  const fe = gitStream(
    [
      'fast-export',
      '--show-original-ids',
      '--reencode=no',
      '--reference-excluded-parents',
      '--signed-tags=strip',
      '--tag-of-filtered-object=drop',
      ...revs,
    ],
    dir,
  );
  const parentOf = async (from: string | null): Promise<Imported | null> => {
    if (from === null) return null;
    const hit = byKey.get(from);
    if (hit) return hit;
    const head = known.get(from);
    if (!head) throw new GitError(`commit parent ${from} was neither imported nor in the stream`);
    const record = await store.getHeadRecord(head);
    const sid = record.session ?? '';
    const prev = sid ? await catalog.get(sid) : null;
    const gl = new Map(Object.entries((prev as (SessionRecord & { git?: GitCommitInfo }) | null)?.git?.gitlinks ?? {}));
    const imp: Imported = { head, tree: record.tree, nextIno: record.nextIno, gitlinks: gl, oid: from, from: null, record, sid };
    byKey.set(from, imp);
    return imp;
  };

  try {
    for await (const ev of parseFastExport(fe.proc.stdout)) {
      if (ev.type === 'blob') {
        let hash: string;
        if (ev.data.length > CHUNK_THRESHOLD) hash = await store.putBlob(ev.data);
        else {
          hash = sha256Hex(ev.data);
          await wb.putContent(store.key(objectRelKey('blobs', hash)), ev.data);
        }
        // a small blob may be a symlink's target: kept (a copy: ev.data is a view of the stream's 64 KiB chunk,
        // which it would keep alive to the end of the import); a longer target is read back from the store
        marks.set(ev.mark, { hash, size: ev.data.length, small: ev.data.length <= SMALL_BLOB ? Buffer.from(ev.data) : undefined });
        continue;
      }
      const oid = ev.oid!;
      if (known.has(oid)) {
        result.known++;
        continue;
      }
      const imp = await importCommit(ev, await parentOf(ev.from));
      byKey.set(oid, imp);
      if (ev.mark) byKey.set(ev.mark, imp);
      result.imported++;
      o.onProgress?.({ done: result.imported, total, phase: 'import' });
    }
    await fe.wait();
  } catch (e) {
    fe.proc.kill();
    await wb.close();
    throw e;
  }

  async function importCommit(c: CommitEvent, parent: Imported | null): Promise<Imported> {
    const oid = c.oid!;
    const author = lineText(c.author ?? c.committer);
    const committer = lineText(c.committer);
    const ci = parseIdentity(committer);
    const ai = parseIdentity(author);
    const aIso = isoOf(ai);
    const cIso = isoOf(ci);
    const cs = new ChangeSet();
    const onChain = seed !== null && tipChain.has(oid);
    const ops: { names: string[]; sig: string | null }[] | null = onChain ? [] : null;
    let deleteAll = false;
    const changes: string[] = []; // GitCommitInfo.changes
    const put = (names: string[], leaf: Leaf) => {
      cs.put(names, leaf);
      ops?.push({ names, sig: leaf === null ? null : leaf.kind === 'symlink' ? `l:${leaf.target}` : `f:${leaf.mode}:${leaf.hash}` });
    };
    const gitlinks = new Map(parent?.gitlinks ?? []);
    for (const ch of c.changes) {
      if (ch.op === 'deleteall') {
        changes.push('deleteall');
        deleteAll = true;
        cs.deleteAll = true;
        gitlinks.clear();
        continue;
      }
      const names = namesOf(ch.path);
      const p = names.join('/');
      if (names.length === 0) continue;
      if (ch.op === 'D') {
        changes.push(`D ${p}`);
        if (gitlinks.delete(p)) continue;
        put(names, null);
        for (const g of gitlinks.keys()) if (g.startsWith(p + '/')) gitlinks.delete(g);
        continue;
      }
      if (ch.mode === '160000') {
        changes.push(`M 160000 ${ch.ref} ${p}`);
        gitlinks.set(p, ch.ref);
        if (!gitlinkWarned.has(p)) {
          gitlinkWarned.add(p);
          warnings.push(
            `submodule ${p} (${ch.ref.slice(0, 12)}) is not a file tree: kept in the session records and written back by export-git, not shown in the mount`,
          );
        }
        put(names, null);
        continue;
      }
      const blob = marks.get(ch.ref);
      if (!blob) throw new GitError(`fast-export named an unknown blob ${ch.ref}`);
      if (ch.mode === '120000') {
        const target = blob.small ?? (await store.getBlob(blob.hash));
        put(names, { kind: 'symlink', mode: 0o777, size: target.length, target: nameOf(target) });
        changes.push(`M 120000 ${blob.hash} ${p}`);
      } else {
        const mode = FILE_MODES[ch.mode];
        if (mode === undefined) throw new GitError(`unsupported mode ${ch.mode} at ${p}`);
        put(names, { kind: 'file', mode, size: blob.size, hash: blob.hash });
        changes.push(`M ${mode & 0o100 ? '100755' : '100644'} ${blob.hash} ${p}`);
      }
    }
    const base = parent ?? { tree: EMPTY_TREE, nextIno: 2 };
    const { tree, nextIno } = await cs.apply(store, base.tree, base.nextIno, [ci.time, 0]);
    const info: GitCommitInfo = {
      commit: oid,
      parents: [c.from, ...c.merges].filter((x): x is string => x !== null).map((x) => byKey.get(x)?.oid ?? x),
      author,
      committer,
      encoding: c.encoding,
      ...messageFields(c.message),
    };
    if (gitlinks.size) info.gitlinks = Object.fromEntries(gitlinks);
    // a commit touching thousands of paths (a first import) keeps its record small: export diffs its trees
    if (changes.length <= MAX_RECORDED_CHANGES) info.changes = changes;
    const raw = await special.get(oid);
    if (raw) info.raw_b64 = raw.toString('base64');
    const msg = info.message ?? c.message.toString('utf8');
    const sid = sessionIdFor(project, oid);
    const record: HeadRecord = { tree, nextIno, parent: parent?.head ?? null, session: sid, message: msg, time: cIso };
    // serialized and hashed once, queued as is (putHeadRecord would do both again, through the shared-put
    // machinery: a promise chain, an existence check and a cache entry per commit)
    const headBytes = headRecordBytes(record);
    const head = sha256Hex(headBytes);
    bg(wb.put(store.key(objectRelKey('heads', head)), headBytes));
    if (ops) {
      const old = deleteAll ? seed!.deleteAll() : null;
      for (const op of ops) seed!.change(op.names, op.sig, head, old?.get(op.names.join('/')));
    } else if (incrementalIndex) {
      // a re-import continues the previous tip's blame index, one head at a time (new commits are few)
      await store.putHeadRecord(record); // queued (write-behind): readable at once
      await indexHead(store, head, 1);
    }
    const parentHead = parent?.head ?? null;
    const sealed = { tree, nextIno };
    const r = importedRecord({
      sid,
      project,
      msg,
      parentHead,
      base,
      owner,
      ai,
      ci,
      aIso,
      cIso,
      now,
      head,
      oid,
      changed: cs.size,
      sealed,
      info,
    });
    bg(store.putJson(`sessions/${sid}/metadata.json`, r));
    bg(wb.put(`index/sessions/${sid}`, Buffer.from(JSON.stringify({ project }))));
    return { head, tree, nextIno, gitlinks, oid, from: c.from, record, sid };
  }

  const tipImp = byKey.get(tip);
  if (!tipImp) throw new GitError(`fast-export did not reach ${tip}`);
  if (seed) await seed.write(store, tipImp.head);
  o.onProgress?.({ done: result.imported, total, phase: 'flush' });
  await wb.flush();
  if (bgFailure) throw bgFailure;
  result.objects = { written: wb.written, bytes: wb.bytesWritten };

  const commits = { ...(state?.commits ?? {}) };
  for (const [k, v] of byKey) if (!k.startsWith(':')) commits[k] = v.head;
  const newState: ImportState = { repo: dir, ref, tip, tip_head: tipImp.head, commits };

  if (!landedSince) {
    main.markStored(objectRelKey('heads', tipImp.head)); // packed and synced by wb.flush()
    const ok = await main.casHead(cur?.version ?? null, cur?.ref.generation ?? 0, tipImp.record);
    if (!ok) throw new ImportRefusedError(`project ${project}: a session landed while importing; run import-git again with --onto-head`);
    await main.putJson(IMPORT_STATE, newState);
    result.head = tipImp.head;
    return result;
  }
  // --onto-head: the new first-parent commits land one by one on the current head, like sessions
  const chain: Imported[] = [];
  for (let c: Imported | undefined = tipImp; c && !known.has(c.oid); c = c.from ? byKey.get(c.from) : undefined) chain.unshift(c);
  for (let attempt = 0; attempt < 20; attempt++) {
    const H = (await main.getHead())!;
    let hHash = H.hash,
      hRec = H.record;
    const landed: { imp: Imported; head: string }[] = [];
    for (const c of chain) {
      const parentRec = c.record.parent ? await store.getHeadRecord(c.record.parent) : { tree: EMPTY_TREE, nextIno: 2 };
      const m = await mergeTrees(main, { tree: parentRec.tree, nextIno: parentRec.nextIno }, { tree: c.tree, nextIno: c.nextIno }, hRec);
      if (m.conflicts.length) {
        result.conflicts = m.conflicts.map((x) => ({ ...x, commit: c.oid }));
        await main.putJson(IMPORT_STATE, { ...newState, tip: state?.tip ?? '', tip_head: state?.tip_head ?? '' });
        return result;
      }
      hRec = { tree: m.tree, nextIno: m.nextIno, parent: hHash, session: c.sid, message: c.record.message, time: new Date().toISOString() };
      hHash = await main.putHeadRecord(hRec);
      landed.push({ imp: c, head: hHash });
      o.onProgress?.({ done: landed.length, total: chain.length, phase: 'land' });
    }
    if (!(await main.casHead(H.version, H.ref.generation, hRec))) continue;
    await indexHead(main, hHash, chain.length + 1).catch(() => false); // as a landing does (blame-index.ts)
    for (const l of landed) {
      const r = await catalog.get(l.imp.sid);
      if (r) {
        r.landed_head = l.head;
        (r.timeline ??= []).push({ time: new Date().toISOString(), type: 'landed', head: l.head, message: 'landed onto the project head' });
        await catalog.update(r);
      }
    }
    await main.putJson(IMPORT_STATE, newState);
    result.head = hHash;
    return result;
  }
  throw new ImportRefusedError(`project ${project}: the head kept moving while landing the imported commits`);
}
