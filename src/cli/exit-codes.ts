// The one place where failures become exit statuses: 2 for landing conflicts, 1 for any other failure
// the API or the in-process service reports (their JSON body is printed). Other errors are bugs: they
// propagate and print a stack.
import { DomainError, type ErrorBody } from '../session/errors.js';
import { ApiError } from '../api/http-errors.js';

export const EXIT_FAILURE = 1;
export const EXIT_CONFLICT = 2;

/** The body of a reported failure (in-process domain error, or an HTTP answer), or null. */
export function failureBodyOf(e: unknown): ErrorBody | null {
  if (e instanceof DomainError || e instanceof ApiError) return e.body;
  return null;
}

export function exitCodeOf(body: ErrorBody): number {
  return body.error === 'conflict' ? EXIT_CONFLICT : EXIT_FAILURE;
}
