// Who is acting: the caller of the session service, carried through one call (the gate sets it for each
// request, src/gate/guarded-api.ts) so that what the call records (timeline events) names its actor
// without every method taking one more argument.
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string>();

/** Runs fn with `actor` as the caller of everything it records. */
export function withActor<T>(actor: string, fn: () => T): T {
  return scope.run(actor, fn);
}

/** The caller of the running call, if one was given. */
export function currentActor(): string | null {
  return scope.getStore() ?? null;
}
