// Identity metrics: how often user tokens are looked up in the store (each look-up reads it; an open
// event stream rechecks its token, shared per token and interval: events/stream-watch.ts).
import { Counter } from 'prom-client';
import { registry } from './registry.js';

const tokenLookups = new Counter({
  name: 'mic_token_lookups_total',
  help: 'User tokens looked up in the token store (requests, and the rechecks of open event streams)',
  registers: [registry],
});

export function countTokenLookup(): void {
  tokenLookups.inc();
}
