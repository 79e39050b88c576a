// Connects the daemon's parts to the metrics (src/metrics/): process metrics, open connections,
// the cache tiers and upload queue of the backend, and sessions by state.
import { collectProcessMetrics } from '../metrics/registry.js';
import { countConnections, observeBusyPoll } from '../metrics/rpc-metrics.js';
import type { BusyPoll } from '../../rpc/busy-poll.js';
import { observeDamagedPacks, observeStore } from '../metrics/store-metrics.js';
import { observeSessions } from '../metrics/session-metrics.js';
import type { Catalog } from '../session/catalog.js';
import { TieredBackend } from '../store/tiered-backend.js';
import { LocalBackend } from '../store/local-backend.js';

/** Starts feeding the metrics from this daemon; returns the undo (for close). */
export function watchDaemon(catalog: Catalog, connections: () => number, busyPoll?: BusyPoll): () => void {
  collectProcessMetrics();
  const stopConnections = countConnections(connections);
  const stopBusyPoll = busyPoll ? observeBusyPoll(busyPoll) : () => {};
  const b = catalog.backend;
  if (b instanceof TieredBackend) {
    observeStore({
      diskCache: b.cache,
      remoteGets: () => b.stats.remoteGets,
      uploads: () => b.uploadStats(),
    });
  }
  if (b instanceof LocalBackend) observeDamagedPacks(() => b.neededDamage().length);
  observeSessions(async () => (await catalog.list()).map((r) => r.status));
  return () => {
    stopConnections();
    stopBusyPoll();
    observeStore(null);
    observeDamagedPacks(null);
    observeSessions(null);
  };
}
