// Webhooks (seed 004's Hook.register, over HTTP): a hook names a project, the event types it wants
// and a URL. Each matching event is POSTed as JSON, signed with HMAC-SHA256 of the body under the
// hook's secret (header X-Mic-Signature-256: sha256=<hex>, as GitHub does), and delivered at least
// once: the delivery is written to the store before the first try and removed after a 2xx, tries
// back off exponentially (with jitter), and pending deliveries resume when the daemon starts.
// Store layout: hooks/<id>/hook.json, hooks/<id>/pending/<delivery>.json, hooks/<id>/log.json.
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ObjectBackend } from '../store/index.js';
import { readDoc, updateDoc, writeDoc } from '../identity/json-doc.js';
import { matches, type EventBus, type MicEvent } from './event-bus.js';

export interface Hook {
  id: string;
  project: string;
  url: string;
  types: string[];
  secret: string;
  created_at: string;
  created_by: string;
}

export interface DeliveryLogEntry {
  delivery: string;
  event_id: string;
  event_type: string;
  attempt: number;
  time: string;
  status: number | null;
  ok: boolean;
  error?: string;
}

interface Pending {
  delivery: string;
  hook: string;
  event: MicEvent;
  attempts: number;
}

export interface WebhookOptions {
  /** first retry delay (default 1 s); doubles each try up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** give up after this many tries (default 12); the log keeps the failure */
  maxAttempts?: number;
  timeoutMs?: number;
  log?: Logger;
}

const LOG_KEEP = 100;
const hookKey = (id: string) => `hooks/${id}/hook.json`;
const pendingKey = (id: string, d: string) => `hooks/${id}/pending/${d}.json`;
const logKey = (id: string) => `hooks/${id}/log.json`;
const ID = /^hook-[0-9a-f]{16}$/;

export function signBody(secret: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** Hooks on the store plus the deliverer that feeds them from the bus. */
export class Webhooks {
  private hooks = new Map<string, Hook>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private off: (() => void) | null = null;
  private closed = false;
  private readonly o: Required<Omit<WebhookOptions, 'log'>> & { log?: Logger };

  constructor(
    private readonly backend: ObjectBackend,
    opts: WebhookOptions = {},
  ) {
    this.o = { baseDelayMs: 1000, maxDelayMs: 5 * 60_000, maxAttempts: 12, timeoutMs: 10_000, ...opts };
  }

  /** Loads the hooks, resumes pending deliveries, and follows the bus. */
  async start(bus: EventBus): Promise<void> {
    await this.reload();
    for await (const o of this.backend.list('hooks/')) {
      if (!/\/pending\/[^/]+\.json$/.test(o.key)) continue;
      const p = await readDoc<Pending>(this.backend, o.key);
      if (p) this.schedule(p, 0);
    }
    this.off = bus.subscribe((e) => this.onEvent(e));
  }

  async reload(): Promise<void> {
    const next = new Map<string, Hook>();
    for await (const o of this.backend.list('hooks/')) {
      if (!o.key.endsWith('/hook.json')) continue;
      const h = await readDoc<Hook>(this.backend, o.key);
      if (h) next.set(h.id, h);
    }
    this.hooks = next;
  }

  async create(o: { project: string; url: string; types: string[]; secret?: string; actor: string }): Promise<Hook> {
    const hook: Hook = {
      id: `hook-${randomBytes(8).toString('hex')}`,
      project: o.project,
      url: o.url,
      types: o.types,
      secret: o.secret ?? randomBytes(24).toString('base64url'),
      created_at: new Date().toISOString(),
      created_by: o.actor,
    };
    await writeDoc(this.backend, hookKey(hook.id), hook);
    this.hooks.set(hook.id, hook);
    return hook;
  }

  async get(id: string): Promise<Hook | null> {
    return ID.test(id) ? readDoc<Hook>(this.backend, hookKey(id)) : null;
  }

  async list(project?: string): Promise<Hook[]> {
    await this.reload();
    return [...this.hooks.values()]
      .filter((h) => !project || h.project === project)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async delete(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    let found = false;
    for await (const o of this.backend.list(`hooks/${id}/`)) {
      found = true;
      await this.backend.delete(o.key);
    }
    this.hooks.delete(id);
    return found;
  }

  async deliveries(id: string): Promise<DeliveryLogEntry[]> {
    return (await readDoc<DeliveryLogEntry[]>(this.backend, logKey(id))) ?? [];
  }

  /** Stops following the bus and retrying; resolves once the deliveries in flight have recorded their
   *  outcome (each is bounded by timeoutMs), so that nothing this instance writes lands after a restart
   *  has taken over its pending deliveries. */
  async close(): Promise<void> {
    this.closed = true;
    this.off?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private onEvent(e: MicEvent): void {
    for (const h of this.hooks.values()) {
      if (!matches(e, { project: h.project, types: h.types })) continue;
      const p: Pending = { delivery: `dlv-${randomBytes(8).toString('hex')}`, hook: h.id, event: e, attempts: 0 };
      writeDoc(this.backend, pendingKey(h.id, p.delivery), p)
        .then(() => this.schedule(p, 0))
        .catch((err) => this.o.log?.error({ err, hook: h.id }, 'webhook: could not record a delivery'));
    }
  }

  private schedule(p: Pending, delay: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      const run = this.attempt(p)
        .catch((err) => this.o.log?.error({ err, hook: p.hook }, 'webhook: delivery failed'))
        .finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }, delay);
    t.unref();
    this.timers.add(t);
  }

  private async attempt(p: Pending): Promise<void> {
    const hook = this.hooks.get(p.hook) ?? (await this.get(p.hook));
    if (!hook) {
      await this.backend.delete(pendingKey(p.hook, p.delivery)).catch(() => {});
      return;
    }
    p.attempts++;
    const body = JSON.stringify({ delivery: p.delivery, hook: hook.id, event: p.event });
    let status: number | null = null;
    let error: string | undefined;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'mic-fs-webhook',
          'x-mic-event': p.event.type,
          'x-mic-delivery': p.delivery,
          'x-mic-hook': hook.id,
          'x-mic-signature-256': signBody(hook.secret, body),
        },
        signal: AbortSignal.timeout(this.o.timeoutMs),
        redirect: 'manual',
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (e) {
      error = (e as Error).message;
    }
    const ok = status !== null && status >= 200 && status < 300;
    const entry: DeliveryLogEntry = {
      delivery: p.delivery,
      event_id: p.event.id,
      event_type: p.event.type,
      attempt: p.attempts,
      time: new Date().toISOString(),
      status,
      ok,
      ...(error ? { error } : {}),
    };
    await updateDoc<DeliveryLogEntry[]>(this.backend, logKey(hook.id), (cur) => [...(cur ?? []), entry].slice(-LOG_KEEP));
    if (ok || p.attempts >= this.o.maxAttempts) {
      await this.backend.delete(pendingKey(hook.id, p.delivery));
      if (!ok) this.o.log?.warn({ hook: hook.id, delivery: p.delivery, attempts: p.attempts }, 'webhook: gave up on a delivery');
      return;
    }
    await writeDoc(this.backend, pendingKey(hook.id, p.delivery), p);
    const backoff = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (p.attempts - 1));
    this.schedule(p, backoff / 2 + (Math.random() * backoff) / 2);
  }
}
