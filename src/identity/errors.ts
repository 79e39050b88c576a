// Identity's domain errors: the API maps them to 401 and 403 (api/http-errors.ts), the CLI to exit 1.
import { ForbiddenError, UnauthorizedError } from '../session/errors.js';

export { ForbiddenError, UnauthorizedError as UnauthenticatedError };

/** A known caller who lacks a right; the message names the caller, the right and the target. */
export class MissingRightError extends ForbiddenError {
  constructor(
    readonly right: string,
    readonly target: string,
    readonly actor: string,
  ) {
    super(`${actor} lacks the "${right}" right on ${target}`);
  }
}
