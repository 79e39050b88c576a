// Which data directory serves a live session. projects/<p>/sessions/<id>/holder is a ref moved only by
// compare-and-swap: { holder: <node id> } while a daemon (or the CLI on that data dir) holds it,
// { holder: null } once handed off. A data dir's node id is <dataDir>/node-id, created on first use.
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readOrCreatePrivate } from '../util/private-file.js';
import type { Catalog } from './catalog.js';
import type { SessionRecord } from './record.js';
import { ApiError } from './errors.js';

/** How an open may claim the session: mine (already held here), use (also a never-held one),
 *  take (also a handed-off one), force (also one held elsewhere). */
export type OpenMode = 'mine' | 'use' | 'take' | 'force';

export interface HolderDoc { holder: string | null; since: string; nonce: string; by?: string; tree?: string }

/** Where the session came from when it was claimed: new (never held), mine, released (handed off), forced. */
export type Claimed = 'new' | 'mine' | 'released' | 'forced';

/** A node id as nodeId() writes it: host name, a dash, 8 hex digits. */
const NODE_ID = /^[A-Za-z0-9.-]*-[0-9a-f]{8}$/;

/** This data directory's node id; created once (atomically: a torn file is replaced, never used). */
export function nodeId(dataDir: string): string {
  const file = path.join(dataDir, 'node-id');
  const make = (): Buffer => Buffer.from(`${os.hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'node'}-${randomBytes(4).toString('hex')}\n`);
  return readOrCreatePrivate(file, (b) => NODE_ID.test(b.toString('utf8').trim()), make).toString('utf8').trim();
}

export class Ownership {
  constructor(private readonly catalog: Catalog, readonly node: string) {}

  private key(r: SessionRecord): string { return this.catalog.store(r.project).key(`sessions/${r.session_id}/holder`); }

  async read(r: SessionRecord): Promise<{ doc: HolderDoc; version: string } | null> {
    const got = await this.catalog.backend.getRef(this.key(r));
    return got ? { doc: JSON.parse(got.data.toString('utf8')) as HolderDoc, version: got.version } : null;
  }

  private write(r: SessionRecord, doc: Omit<HolderDoc, 'since' | 'nonce'>, expect: string | null): Promise<boolean> {
    const body: HolderDoc = { ...doc, since: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
    return this.catalog.backend.casRef(this.key(r), Buffer.from(JSON.stringify(body)), expect);
  }

  /** Claims the session for this node as far as `mode` allows; 409 otherwise. */
  async claim(r: SessionRecord, mode: OpenMode): Promise<Claimed> {
    for (let i = 0; i < 10; i++) {
      const cur = await this.read(r);
      if (cur?.doc.holder === this.node) return 'mine';
      let from: Claimed;
      if (!cur) {
        if (mode === 'mine') throw notHeld(r, null);
        from = 'new';
      } else if (cur.doc.holder === null) {
        if (mode !== 'take' && mode !== 'force') throw handedOff(r);
        from = 'released';
      } else {
        if (mode !== 'force') throw servedElsewhere(r, cur.doc.holder);
        from = 'forced';
      }
      if (await this.write(r, { holder: this.node }, cur?.version ?? null)) return from;
    }
    throw new Error(`session ${r.session_id}: its holder ref kept changing`);
  }

  /** Throws 409 unless this node holds the session. */
  async check(r: SessionRecord): Promise<void> {
    const cur = await this.read(r);
    if (cur?.doc.holder !== this.node) throw cur?.doc.holder === null ? handedOff(r) : notHeld(r, cur?.doc.holder ?? null);
  }

  /** Hands the session off: nobody holds it; the next daemon starts from `tree` (its tree.json). */
  async release(r: SessionRecord, tree: string): Promise<void> {
    const cur = await this.read(r);
    if (cur?.doc.holder !== this.node || !(await this.write(r, { holder: null, by: this.node, tree }, cur.version))) {
      throw notHeld(r, cur?.doc.holder ?? null);
    }
  }

  /** Who serves it: a node id, or null when handed off or never opened. */
  async holder(r: SessionRecord): Promise<string | null> { return (await this.read(r))?.doc.holder ?? null; }
}

export function handedOff(r: SessionRecord): ApiError {
  return new ApiError(409, {
    error: 'handed_off',
    message: `session ${r.session_id} was handed off; serve it here first (mic session serve ${r.session_id}, or mount its export)`,
  });
}

export function servedElsewhere(r: SessionRecord, holder: string): ApiError {
  return new ApiError(409, {
    error: 'served_elsewhere',
    message: `session ${r.session_id} is served by ${holder}; hand it off there first (mic session handoff ${r.session_id})`,
  });
}

function notHeld(r: SessionRecord, holder: string | null): ApiError {
  return holder ? servedElsewhere(r, holder) : new ApiError(409, {
    error: 'not_served', message: `session ${r.session_id} is not served here`,
  });
}
