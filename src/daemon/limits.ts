// Connection limits of the NFS port (issue 8 item 9): how many clients, for how long, and how
// many file descriptors stay reserved for data files and journals whatever the clients do.
import { readFileSync } from 'node:fs';

export interface ConnectionLimits {
  /** connections open at once; more are closed at accept */
  maxConnections: number;
  /** connections open at once from one client address */
  maxConnectionsPerAddress: number;
  /** a connection with no call running and nothing buffered is closed after this long (ms; 0: never) */
  idleTimeoutMs: number;
  /** a record begun and not complete after this long closes its connection (ms; 0: never) */
  recordTimeoutMs: number;
  /** bytes all partially received RPC records together may hold */
  recordMemory: number;
  /** descriptors kept free for data files, journals and the store; null: a quarter of the limit, at least 256 */
  fdReserve: number | null;
  /** a client with mounts and no connection for this long is gone: its mounts end (ms; 0: never; exports.ts) */
  mountGoneMs: number;
}

/**
 * Defaults. 1024 connections is far more than NFS clients use (Linux shares one connection per
 * server, or `nconnect` up to 16); 128 per address leaves room for many clients behind one
 * address (every local agent on loopback). Idle connections are closed after 6 minutes, as
 * knfsd does (the Linux client reconnects on its next call); a record must arrive within 30 s.
 * 256 MiB of partial records is 100 clients each in the middle of a 2 MiB WRITE.
 */
export const DEFAULT_LIMITS: ConnectionLimits = {
  maxConnections: 1024,
  maxConnectionsPerAddress: 128,
  idleTimeoutMs: 360_000,
  recordTimeoutMs: 30_000,
  recordMemory: 256 * 1024 * 1024,
  fdReserve: null,
  mountGoneMs: 900_000,
};

const MIN_RESERVE = 256;

/** The soft RLIMIT_NOFILE of this process (Linux /proc), or null when it cannot be read. */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return null;
    return Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * The connection limit actually applied: the configured one, lowered so that `reserve`
 * descriptors stay free below the open-file limit (so that no number of idle sockets can
 * make a WRITE fail to open its data file).
 */
export function effectiveMaxConnections(l: ConnectionLimits, nofile: number | null): { max: number; reserve: number | null } {
  if (nofile === null) return { max: l.maxConnections, reserve: l.fdReserve };
  const reserve = l.fdReserve ?? Math.max(MIN_RESERVE, Math.floor(nofile / 4));
  return { max: Math.max(1, Math.min(l.maxConnections, nofile - reserve)), reserve };
}
