// Identity's domain errors: the API maps them to 401 and 403 (api/http-errors.ts), the CLI to exit 1.
import { DomainError } from '../session/errors.js';

/** No credential, or one that is unknown, revoked or expired. */
export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthorized';
  constructor(message = 'a valid bearer token is required') {
    super({ error: 'unauthorized', message });
  }
}

/** A known caller who lacks a right; the message names the right, the target and the caller. */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
  constructor(readonly right: string, readonly target: string, readonly actor: string) {
    super({ error: 'forbidden', message: `${actor} lacks the "${right}" right on ${target}` });
  }
}
