// Strict decoders of NFSv3 and MOUNT v3 results (RFC 1813 sections 3.3 and 5.2), for the fuzzer:
// every word of a reply must be where the RFC puts it and nothing may follow.
import type { XdrReader } from '../../rpc/xdr.js';
import { NfsStatus } from '../../src/fs/file-system.js';
import {
  decodeFattr,
  decodePostOpAttr,
  decodePostOpFh,
  decodeTime,
  decodeWcc,
  MOUNT_PROG,
  MountStat,
  NFS_PROG,
  Proc,
} from '../lib/nfs3-client.js';

const NFS_STATUSES = new Set(Object.values(NfsStatus).filter((v) => typeof v === 'number') as number[]);
const MOUNT_STATUSES = new Set(Object.values(MountStat) as number[]);

function nfsStatus(r: XdrReader): number {
  const s = r.u32();
  if (!NFS_STATUSES.has(s)) throw new Error(`unknown nfsstat3 ${s}`);
  return s;
}

const OK = NfsStatus.OK;
const created = (r: XdrReader): void => {
  if (nfsStatus(r) === OK) {
    decodePostOpFh(r);
    decodePostOpAttr(r);
  }
  decodeWcc(r);
};

const NFS: Record<number, (r: XdrReader) => void> = {
  [Proc.NULL]: () => {},
  [Proc.GETATTR]: (r) => {
    if (nfsStatus(r) === OK) decodeFattr(r);
  },
  [Proc.SETATTR]: (r) => {
    nfsStatus(r);
    decodeWcc(r);
  },
  [Proc.LOOKUP]: (r) => {
    if (nfsStatus(r) === OK) {
      r.opaque(64);
      decodePostOpAttr(r);
    }
    decodePostOpAttr(r);
  },
  [Proc.ACCESS]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s === OK) r.u32();
  },
  [Proc.READLINK]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s === OK) r.opaque(4096);
  },
  [Proc.READ]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s !== OK) return;
    const count = r.u32();
    r.bool();
    if (r.opaque().length !== count) throw new Error('READ count differs from its data');
  },
  [Proc.WRITE]: (r) => {
    const s = nfsStatus(r);
    decodeWcc(r);
    if (s !== OK) return;
    r.u32();
    if (r.u32() > 2) throw new Error('bad stable_how');
    r.fixed(8);
  },
  [Proc.CREATE]: created,
  [Proc.MKDIR]: created,
  [Proc.SYMLINK]: created,
  [Proc.MKNOD]: created,
  [Proc.REMOVE]: (r) => {
    nfsStatus(r);
    decodeWcc(r);
  },
  [Proc.RMDIR]: (r) => {
    nfsStatus(r);
    decodeWcc(r);
  },
  [Proc.RENAME]: (r) => {
    nfsStatus(r);
    decodeWcc(r);
    decodeWcc(r);
  },
  [Proc.LINK]: (r) => {
    nfsStatus(r);
    decodePostOpAttr(r);
    decodeWcc(r);
  },
  [Proc.READDIR]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s !== OK) return;
    r.fixed(8);
    while (r.bool()) {
      r.u64();
      r.opaque(255);
      r.u64();
    }
    r.bool();
  },
  [Proc.READDIRPLUS]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s !== OK) return;
    r.fixed(8);
    while (r.bool()) {
      r.u64();
      r.opaque(255);
      r.u64();
      decodePostOpAttr(r);
      decodePostOpFh(r);
    }
    r.bool();
  },
  [Proc.FSSTAT]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s === OK) {
      for (let i = 0; i < 6; i++) r.u64();
      r.u32();
    }
  },
  [Proc.FSINFO]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s === OK) {
      for (let i = 0; i < 7; i++) r.u32();
      r.u64();
      decodeTime(r);
      r.u32();
    }
  },
  [Proc.PATHCONF]: (r) => {
    const s = nfsStatus(r);
    decodePostOpAttr(r);
    if (s === OK) {
      r.u32();
      r.u32();
      for (let i = 0; i < 4; i++) r.bool();
    }
  },
  [Proc.COMMIT]: (r) => {
    const s = nfsStatus(r);
    decodeWcc(r);
    if (s === OK) r.fixed(8);
  },
};

const MOUNT: Record<number, (r: XdrReader) => void> = {
  0: () => {},
  1: (r) => {
    const s = r.u32();
    if (!MOUNT_STATUSES.has(s)) throw new Error(`unknown mountstat3 ${s}`);
    if (s !== MountStat.OK) return;
    r.opaque(64);
    const n = r.u32();
    for (let i = 0; i < n; i++) r.u32();
  },
  2: (r) => {
    while (r.bool()) {
      r.opaque(255);
      r.opaque(1024);
    }
  },
  3: () => {},
  4: () => {},
  5: (r) => {
    while (r.bool()) {
      r.opaque(1024);
      while (r.bool()) r.opaque(255);
    }
  },
};

/** Decodes the results of an accepted SUCCESS reply to `prog`/`proc`; throws if they are malformed. */
export function checkResults(prog: number, proc: number, r: XdrReader): void {
  const table = prog === NFS_PROG ? NFS : prog === MOUNT_PROG ? MOUNT : null;
  const decode = table?.[proc];
  if (!decode) throw new Error(`SUCCESS for an unknown procedure ${prog}/${proc}`);
  decode(r);
  if (r.remaining !== 0) throw new Error(`${r.remaining} trailing bytes after the results of ${prog}/${proc}`);
}
