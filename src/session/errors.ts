// The session layer's domain errors. They say what went wrong in the domain's terms (not found, wrong
// state, conflict, bad input); src/api/http-errors.ts maps them to HTTP statuses and src/cli/exit-codes.ts
// to exit statuses. Each carries the JSON body the API sends, so every path reports a failure alike.
import type { Conflict } from './merge.js';

export interface ErrorBody {
  /** a stable code: invalid_input, not_found, conflict, invalid_state, unauthorized, ... */
  error: string;
  message: string;
  /** invalid_input: which field, and why */
  field?: string;
  reason?: string;
  conflicts?: Conflict[];
  session?: unknown;
}

/** What kind of failure: the one thing the HTTP and exit-code mappings look at. */
export type ErrorKind =
  'invalid' | 'not_found' | 'state' | 'conflict' | 'unauthorized' | 'forbidden' | 'method' | 'too_large' | 'unavailable';

export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }

  /** the stable code of the body: invalid_input, not_found, invalid_state, handed_off, ... */
  get code(): string {
    return this.body.error;
  }
}

/** The input is malformed: names the field and the reason. */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';
  constructor(field: string, reason: string) {
    super({ error: 'invalid_input', message: `${field}: ${reason}`, field, reason });
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(what: string, message = `${what} not found`) {
    super({ error: 'not_found', message });
  }
}

/**
 * The request does not fit the current state (landed, suspended, handed off, already exists, ...).
 * `code` refines it for callers: invalid_state, exists, handed_off, served_elsewhere, not_served.
 */
export class InvalidStateError extends DomainError {
  readonly kind = 'state';
  constructor(message: string, opts: { session?: unknown; code?: string; field?: string; reason?: string } = {}) {
    super({
      error: opts.code ?? 'invalid_state',
      message,
      ...(opts.field !== undefined ? { field: opts.field, reason: opts.reason } : {}),
      ...(opts.session ? { session: opts.session } : {}),
    });
  }
}

/** Landing met changes of the head it cannot merge. */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  constructor(conflicts: Conflict[], session: unknown) {
    const paths = conflicts
      .slice(0, 5)
      .map((c) => `${c.path} (${c.kind})`)
      .join(', ');
    super({
      error: 'conflict',
      message: `${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'} with the head: ${paths}${conflicts.length > 5 ? ', ...' : ''}`,
      conflicts,
      session,
    });
  }
}

/** No credential, or one that is unknown, revoked or expired. */
export class UnauthorizedError extends DomainError {
  readonly kind = 'unauthorized';
  constructor(message = 'a valid bearer token is required') {
    super({ error: 'unauthorized', message });
  }
}

/** The resource exists, but not with this method (the HTTP layer adds the Allow header). */
export class MethodNotAllowedError extends DomainError {
  readonly kind = 'method';
  constructor(method: string, path: string) {
    super({ error: 'method_not_allowed', message: `${method} is not allowed on ${path}` });
  }
}

/** A known caller who may not do this. */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
  constructor(message: string, code = 'forbidden') {
    super({ error: code, message });
  }
}

/** A request body above its limit. */
export class TooLargeError extends DomainError {
  readonly kind = 'too_large';
  constructor(message: string) {
    super({ error: 'too_large', message });
  }
}

/**
 * The object store did not answer, or did not take the uploads a landing needs, within the wait allowed
 * (`--land-wait`): nothing was changed that the next try does not redo, so the session can land again once
 * the store is back. code: store_unavailable (it did not answer) or uploads_pending (its upload queue stuck).
 */
export class StoreUnavailableError extends DomainError {
  readonly kind = 'unavailable';
  constructor(message: string, code: 'store_unavailable' | 'uploads_pending' | 'release_pending' | 'audit_failed' = 'store_unavailable') {
    super({ error: code, message });
  }
}
