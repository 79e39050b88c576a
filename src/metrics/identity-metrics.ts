// Identity metrics: how often user tokens are looked up in the store (each look-up reads it; an open
// event stream rechecks its token, shared per token and interval: events/stream-watch.ts).
// Defined when metrics are turned on (registry.ts); until then a look-up counts into nothing.
import type { Counter } from 'prom-client';
import { onMetrics } from './registry.js';

let tokenLookups: Counter | null = null;
onMetrics(({ Counter }, registry) => {
  tokenLookups = new Counter({
    name: 'mic_token_lookups_total',
    help: 'User tokens looked up in the token store (requests, and the rechecks of open event streams)',
    registers: [registry],
  });
});

export function countTokenLookup(): void {
  tokenLookups?.inc();
}
