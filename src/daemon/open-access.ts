// The daemon's users and tokens, grants, audit log, event bus, webhooks and artifacts, all on the store
// the sessions use (so every daemon on a bucket shares them).
import path from 'node:path';
import type { Logger } from 'pino';
import type { ApiAccess } from '../api/access-routes.js';
import { ArtifactStore } from '../artifacts/artifact-store.js';
import { TaskStore } from '../tasks/task-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { EventBus } from '../events/event-bus.js';
import { Webhooks } from '../events/webhooks.js';
import { GrantStore } from '../identity/grant-store.js';
import { TokenStore } from '../identity/token-store.js';
import { UserStore } from '../identity/user-store.js';
import type { Catalog } from '../session/catalog.js';

/** How long after an API change of a session the watcher's report of the same change is dropped (ms). */
const API_ECHO_MS = 2000;

/** Default largest artifact: 16 GiB (MIC_MAX_ARTIFACT_BYTES). */
export const DEFAULT_MAX_ARTIFACT_BYTES = 16 * 1024 ** 3;

export async function openAccess(
  catalog: Catalog,
  dataDir: string,
  log: Logger,
  o: { maxArtifactBytes?: number; bus?: EventBus } = {},
): Promise<ApiAccess & { close(): Promise<void> }> {
  const backend = catalog.backend;
  const bus = o.bus ?? new EventBus();
  const hooks = new Webhooks(backend, { log });
  await hooks.start(bus);
  // files changed through a mount (the session layer notices them) become session.changed events
  // (a change made through the API has its own event already: the watcher's report of it is dropped)
  const viaApi = new Map<string, number>();
  const offApi = bus.subscribe((e) => {
    if (e.type === 'session.changed' && e.session_id && e.data.source !== 'mount') viaApi.set(e.session_id, Date.now());
  });
  const offFiles = catalog.events.on((e) => {
    if (e.type === 'mount') {
      bus.publish(e.action === 'mounted' ? 'session.mounted' : 'session.unmounted', {
        project: e.project,
        session: e.session,
        data: { client: e.client, path: e.path, ...(e.reason ? { reason: e.reason } : {}) },
      });
      return;
    }
    if (e.type !== 'files') return;
    const api = viaApi.get(e.session);
    if (api !== undefined && Date.now() - api < API_ECHO_MS) return;
    viaApi.delete(e.session);
    catalog.projectOf(e.session).then(
      (project) => {
        bus.publish('session.changed', { project, session: e.session, data: { source: 'mount' } });
      },
      () => {},
    );
  });
  const off = () => {
    offApi();
    offFiles();
  };
  return {
    users: new UserStore(backend),
    tokens: new TokenStore(backend),
    grants: new GrantStore(backend),
    audit: new AuditLog(backend),
    bus,
    hooks,
    artifacts: new ArtifactStore(catalog),
    tasks: new TaskStore(catalog),
    onAuditError: (err, action) => log.error({ err, action }, 'audit log: the entry of a change that was made could not be written'),
    onClose: new Set(),
    spoolDir: path.join(dataDir, 'spool'),
    maxArtifactBytes: o.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES,
    close: () => {
      off();
      return hooks.close();
    },
  };
}
