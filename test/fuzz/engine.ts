// A mutation fuzzer for the daemon's RPC port: valid calls of every NFSv3 and MOUNT v3
// procedure are mutated (arguments, lengths and counts, handles, credentials, call headers,
// fragmentation, record marks) and sent to a real daemon. Every reply must decode (RPC header,
// and the procedure's results when accepted) or the connection must be closed.
import net from 'node:net';
import { encodeAuthSys } from '../../rpc/auth.js';
import { RpcClient, RpcClosedError, RpcTimeoutError } from '../../rpc/client.js';
import { AUTH_NONE, AUTH_SYS, CALL, RPC_VERSION, SUCCESS, parseReply } from '../../rpc/message.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { FileType } from '../../src/fs/file-system.js';
import { encodeSattr, MOUNT_PROG, NFS_PROG, Proc, StableHow } from '../lib/nfs3-client.js';
import { checkResults } from './replies.js';

/** Deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Handles {
  root: Buffer;
  file: Buffer;
  dir: Buffer;
  link: Buffer;
  exportPath: string;
}

interface Seed {
  prog: number;
  proc: number;
  args: Buffer;
  handleAt: number[];
}

/** One valid call of every procedure (handles at known offsets, for handle mutations). */
export function seeds(h: Handles): Seed[] {
  const out: Seed[] = [];
  const add = (prog: number, proc: number, build: (w: XdrWriter, fh: (b: Buffer) => void) => void): void => {
    const w = new XdrWriter();
    const at: number[] = [];
    build(w, (b) => {
      at.push(w.length);
      w.opaque(b);
    });
    out.push({ prog, proc, args: w.toBuffer(), handleAt: at });
  };
  const name = (w: XdrWriter, s: string): void => void w.opaque(Buffer.from(s));
  const N = NFS_PROG;
  add(N, Proc.NULL, () => {});
  add(N, Proc.GETATTR, (_w, fh) => fh(h.file));
  add(N, Proc.SETATTR, (w, fh) => {
    fh(h.file);
    encodeSattr(w, { mode: 0o644, mtime: 'server' });
    w.u32(0);
  });
  add(N, Proc.LOOKUP, (w, fh) => {
    fh(h.root);
    name(w, 'README.md');
  });
  add(N, Proc.ACCESS, (w, fh) => {
    fh(h.file);
    w.u32(0x3f);
  });
  add(N, Proc.READLINK, (_w, fh) => fh(h.link));
  add(N, Proc.READ, (w, fh) => {
    fh(h.file);
    w.u64(0).u32(4096);
  });
  add(N, Proc.WRITE, (w, fh) => {
    fh(h.file);
    w.u64(0).u32(16).u32(StableHow.UNSTABLE).opaque(Buffer.alloc(16, 0x61));
  });
  add(N, Proc.CREATE, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-new');
    w.u32(0);
    encodeSattr(w, { mode: 0o600 });
  });
  add(N, Proc.CREATE, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-excl');
    w.u32(2).fixed(Buffer.alloc(8, 7));
  });
  add(N, Proc.MKDIR, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-dir');
    encodeSattr(w, { mode: 0o700 });
  });
  add(N, Proc.SYMLINK, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-link');
    encodeSattr(w, {});
    name(w, '../README.md');
  });
  add(N, Proc.MKNOD, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-fifo');
    w.u32(FileType.FIFO);
    encodeSattr(w, {});
  });
  add(N, Proc.MKNOD, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-chr');
    w.u32(FileType.CHR);
    encodeSattr(w, {});
    w.u32(1).u32(3);
  });
  add(N, Proc.REMOVE, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-gone');
  });
  add(N, Proc.RMDIR, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-gone-dir');
  });
  add(N, Proc.RENAME, (w, fh) => {
    fh(h.dir);
    name(w, 'fz-new');
    fh(h.dir);
    name(w, 'fz-renamed');
  });
  add(N, Proc.LINK, (w, fh) => {
    fh(h.file);
    fh(h.dir);
    name(w, 'fz-hard');
  });
  add(N, Proc.READDIR, (w, fh) => {
    fh(h.root);
    w.u64(0n).fixed(Buffer.alloc(8)).u32(4096);
  });
  add(N, Proc.READDIRPLUS, (w, fh) => {
    fh(h.root);
    w.u64(0n).fixed(Buffer.alloc(8)).u32(1024).u32(8192);
  });
  add(N, Proc.FSSTAT, (_w, fh) => fh(h.root));
  add(N, Proc.FSINFO, (_w, fh) => fh(h.root));
  add(N, Proc.PATHCONF, (_w, fh) => fh(h.root));
  add(N, Proc.COMMIT, (w, fh) => {
    fh(h.file);
    w.u64(0).u32(0);
  });
  const M = MOUNT_PROG;
  add(M, 0, () => {});
  add(M, 1, (w) => name(w, h.exportPath));
  add(M, 2, () => {});
  add(M, 3, (w) => name(w, h.exportPath + '/nothing'));
  add(M, 4, () => {});
  add(M, 5, () => {});
  return out;
}

const INTERESTING = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  16,
  17,
  32,
  33,
  64,
  65,
  255,
  256,
  1024,
  1025,
  4096,
  65535,
  65536,
  1 << 20,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];

/** A call built for sending: the body (no record mark), how to frame it, and what to expect. */
export interface Mutant {
  xid: number;
  body: Buffer;
  /** fragment lengths (sum = body length); null: one fragment */
  fragments: number[] | null;
  /** prog/proc the header names (for decoding SUCCESS results) */
  prog: number;
  proc: number;
  /** false when the header itself was broken so that the server may drop the record unanswered */
  expectReply: boolean;
  kind: string;
}

function u32At(b: Buffer, off: number, v: number): void {
  if (off + 4 <= b.length) b.writeUInt32BE(v >>> 0, off);
}

export class Mutator {
  private readonly seeds: Seed[];
  constructor(
    private readonly rnd: () => number,
    h: Handles,
    private readonly handles: Buffer[],
  ) {
    this.seeds = seeds(h);
  }

  private int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  private pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  private cred(): { flavor: number; body: Buffer } {
    const uid = this.pick([0, 1000, 65534, 0xffffffff]);
    return {
      flavor: AUTH_SYS,
      body: encodeAuthSys({ stamp: this.int(1000), machine: 'fuzz', uid, gid: uid, gids: uid === 0 ? [] : [uid, 10] }),
    };
  }

  next(xid: number): Mutant {
    const seed = this.pick(this.seeds);
    let args = Buffer.from(seed.args);
    let { flavor, body: credBody } = this.cred();
    let verfFlavor = AUTH_NONE;
    let verfBody: Buffer = Buffer.alloc(0);
    let prog = seed.prog;
    let vers = 3;
    let proc = seed.proc;
    let rpcvers = RPC_VERSION;
    let mtype = CALL;
    let expectReply = true;
    let fragments: number[] | null = null;
    const kind = this.pick([
      'args-bytes',
      'args-truncate',
      'args-extend',
      'args-word',
      'handle',
      'cred',
      'header',
      'fragments',
      'valid',
    ] as const);
    switch (kind) {
      case 'args-bytes':
        for (let i = 1 + this.int(6); i > 0 && args.length > 0; i--) args[this.int(args.length)] = this.int(256);
        break;
      case 'args-truncate':
        args = args.subarray(0, this.int(args.length + 1));
        break;
      case 'args-extend':
        args = Buffer.concat([args, this.bytes(1 + this.int(64))]);
        break;
      case 'args-word':
        // a length, count or enum word set to an edge value
        for (let i = 1 + this.int(2); i > 0 && args.length >= 4; i--) u32At(args, 4 * this.int(args.length >> 2), this.pick(INTERESTING));
        break;
      case 'handle': {
        if (seed.handleAt.length === 0) break;
        const at = this.pick(seed.handleAt);
        const len = args.readUInt32BE(at);
        const fh = args.subarray(at + 4, at + 4 + len);
        const how = this.int(5);
        if (how === 0)
          fh[this.int(fh.length)] ^= 1 + this.int(255); // forged: MAC no longer matches
        else if (how === 1)
          this.pick(this.handles).copy(fh); // another object's handle (wrong type)
        else if (how === 2) this.bytes(fh.length).copy(fh);
        else if (how === 3)
          u32At(args, at, this.pick([0, 1, 32, 34, 64, 65, 0xffffffff])); // length lies
        else {
          const other = this.bytes(this.pick([0, 4, 32, 64]));
          const w = new XdrWriter().opaque(other).toBuffer();
          args = Buffer.concat([args.subarray(0, at), w, args.subarray(at + 4 + len + ((4 - (len & 3)) & 3))]);
        }
        break;
      }
      case 'cred': {
        const how = this.int(7);
        if (how === 0) flavor = this.pick([AUTH_NONE, 2, 3, 6, 7, 300001, 0xffffffff]);
        else if (how === 1) credBody = credBody.subarray(0, this.int(credBody.length));
        else if (how === 2) {
          credBody = Buffer.from(credBody);
          u32At(credBody, 4, this.pick(INTERESTING));
        } // machine name length
        else if (how === 3) {
          credBody = Buffer.from(credBody);
          u32At(credBody, credBody.length - 4 * (1 + this.int(3)), this.pick(INTERESTING));
        } // gids count/uid/gid
        else if (how === 4) credBody = this.bytes(this.int(420));
        else if (how === 5) {
          verfFlavor = this.pick([AUTH_SYS, 3, 6, 0xffffffff]);
          verfBody = this.bytes(this.int(40));
        } else {
          flavor = AUTH_NONE;
          credBody = Buffer.alloc(0);
        }
        break;
      }
      case 'header': {
        const how = this.int(5);
        if (how === 0) rpcvers = this.pick([0, 1, 3, 0xffffffff]);
        else if (how === 1) {
          mtype = this.pick([1, 2, 0xffffffff]);
          expectReply = false;
        } else if (how === 2) prog = this.pick([0, 100000, 100004, 100005, 100003, 0x20000000, 0xffffffff]);
        else if (how === 3) vers = this.pick([0, 1, 2, 4, 0xffffffff]);
        else proc = this.pick([22, 23, 100, 6, 0xffffffff]);
        break;
      }
      case 'fragments':
      case 'valid':
        break;
    }
    const w = new XdrWriter(64 + credBody.length + args.length);
    w.u32(xid).u32(mtype).u32(rpcvers).u32(prog).u32(vers).u32(proc);
    w.u32(flavor).opaque(credBody).u32(verfFlavor).opaque(verfBody);
    w.fixed(args);
    let body = w.toBuffer();
    if (kind === 'header' && this.int(4) === 0) {
      // a header cut anywhere; below 8 bytes (xid + msg_type) it cannot be answered
      body = body.subarray(0, this.int(body.length));
      if (body.length < 8) expectReply = false;
    }
    if (kind === 'fragments' || this.int(8) === 0) fragments = this.split(body.length);
    return { xid, body, fragments, prog, proc, expectReply, kind };
  }

  /** Random fragment lengths summing to `n` (some empty, at most 200). */
  private split(n: number): number[] {
    const k = 1 + this.int(Math.min(200, n + 2));
    const cuts = Array.from({ length: k - 1 }, () => this.int(n + 1)).sort((a, b) => a - b);
    const out: number[] = [];
    let prev = 0;
    for (const c of [...cuts, n]) {
      out.push(c - prev);
      prev = c;
    }
    return out;
  }
}

/** Frames a body: its fragments, each with a record mark, the last one marked last. */
export function framed(body: Buffer, fragments: number[] | null): Buffer {
  const lens = fragments ?? [body.length];
  const parts: Buffer[] = [];
  let off = 0;
  lens.forEach((len, i) => {
    const m = Buffer.alloc(4);
    m.writeUInt32BE(((i === lens.length - 1 ? 0x80000000 : 0) | len) >>> 0, 0);
    parts.push(m, body.subarray(off, off + len));
    off += len;
  });
  return Buffer.concat(parts);
}

/** Checks one reply record against the call it answers; throws when it is malformed. */
export function checkReply(m: Mutant, rec: Buffer): string {
  const r = parseReply(rec);
  if (r.xid !== m.xid) throw new Error(`reply xid ${r.xid} for call ${m.xid}`);
  if (r.kind === 'accepted') {
    if (r.verfFlavor !== AUTH_NONE) throw new Error(`reply verifier flavor ${r.verfFlavor}`);
    if (r.stat === SUCCESS) {
      checkResults(m.prog, m.proc, new XdrReader(rec, r.bodyStart));
      return 'success';
    }
    if (r.stat > 5) throw new Error(`unknown accept_stat ${r.stat}`);
    if (rec.length !== r.bodyStart) throw new Error(`accept_stat ${r.stat} with ${rec.length - r.bodyStart} trailing bytes`);
    return `accept_stat ${r.stat}`;
  }
  if (r.authStat !== undefined && (r.authStat < 1 || r.authStat > 7)) throw new Error(`unknown auth_stat ${r.authStat}`);
  return r.authStat !== undefined ? `auth_stat ${r.authStat}` : 'rpc_mismatch';
}

export interface FuzzStats {
  sent: number;
  replies: number;
  closedConnections: number;
  noReplyExpected: number;
  streamAttacks: number;
  outcomes: Record<string, number>;
  malformed: string[];
}

/**
 * Sends `total` mutated records over `lanes` connections with `depth` calls in flight each,
 * plus raw stream attacks (lying record marks, truncated streams) every `attackEvery` records.
 */
export async function fuzz(o: {
  port: number;
  handles: Handles;
  total: number;
  seed: number;
  lanes?: number;
  depth?: number;
  attackEvery?: number;
  onProgress?: (sent: number) => void;
}): Promise<FuzzStats> {
  const stats: FuzzStats = { sent: 0, replies: 0, closedConnections: 0, noReplyExpected: 0, streamAttacks: 0, outcomes: {}, malformed: [] };
  const rnd = prng(o.seed);
  const mut = new Mutator(rnd, o.handles, [o.handles.root, o.handles.file, o.handles.dir, o.handles.link]);
  let xid = (o.seed * 7919) >>> 0;
  let issued = 0;
  const lanes = o.lanes ?? 4;
  const depth = o.depth ?? 16;
  const attackEvery = o.attackEvery ?? 500;

  const lane = async (): Promise<void> => {
    let c = await RpcClient.connect('127.0.0.1', o.port);
    const inflight = new Set<Promise<void>>();
    while (issued < o.total) {
      issued++;
      if (issued % attackEvery === 0) {
        stats.streamAttacks++;
        stats.sent++;
        await streamAttack(o.port, rnd);
        continue;
      }
      xid = (xid + 1) >>> 0;
      const m = mut.next(xid);
      if (c.closed) {
        stats.closedConnections++;
        c = await RpcClient.connect('127.0.0.1', o.port);
      }
      const conn = c;
      stats.sent++;
      if (stats.sent % 10_000 === 0) o.onProgress?.(stats.sent);
      if (!m.expectReply) {
        stats.noReplyExpected++;
        conn.sendRaw(framed(m.body, m.fragments));
        continue;
      }
      const p = conn.waitForReply(m.xid, 30_000).then(
        (rec) => {
          stats.replies++;
          try {
            const what = checkReply(m, rec);
            stats.outcomes[what] = (stats.outcomes[what] ?? 0) + 1;
          } catch (e) {
            stats.malformed.push(`${m.kind} ${m.prog}/${m.proc}: ${(e as Error).message} (body ${m.body.toString('hex')})`);
          }
        },
        (e: unknown) => {
          if (e instanceof RpcClosedError) return; // the connection was closed: allowed
          const why = e instanceof RpcTimeoutError ? 'no reply on an open connection' : (e as Error).message;
          stats.malformed.push(`${m.kind} ${m.prog}/${m.proc}: ${why} (body ${m.body.toString('hex')})`);
        },
      );
      try {
        conn.sendRaw(framed(m.body, m.fragments));
      } catch {
        /* closed meanwhile: the waiter hears it */
      }
      const tracked: Promise<void> = p.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
      if (inflight.size >= depth) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    await c.close();
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return stats;
}

/** A connection that breaks record marking itself: lying lengths, an endless fragment chain, garbage. */
async function streamAttack(port: number, rnd: () => number): Promise<void> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  await new Promise<void>((resolve) => {
    s.once('connect', () => resolve());
    s.once('error', () => resolve());
  });
  const how = Math.floor(rnd() * 4);
  const mark = Buffer.alloc(4);
  if (how === 0) {
    mark.writeUInt32BE((0x80000000 | 1000) >>> 0, 0);
    s.end(Buffer.concat([mark, Buffer.alloc(100)]));
  } // promises more than it sends
  else if (how === 1) {
    mark.writeUInt32BE(0xffffffff, 0);
    s.end(mark);
  } // 2 GiB fragment
  else if (how === 2) {
    const f = Buffer.alloc(5 * 1100);
    for (let i = 0; i < 1100; i++) f.writeUInt32BE(1, i * 5);
    s.end(f);
  } // over the fragment cap
  else {
    const g = Buffer.alloc(64 + Math.floor(rnd() * 2000));
    for (let i = 0; i < g.length; i++) g[i] = Math.floor(rnd() * 256);
    s.end(g);
  }
  await new Promise<void>((resolve) => {
    s.once('close', () => resolve());
    setTimeout(() => {
      s.destroy();
      resolve();
    }, 2000);
  });
}
