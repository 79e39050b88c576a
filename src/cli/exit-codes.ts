// The one place where failures become exit statuses: 2 for landing conflicts, 75 (EX_TEMPFAIL) when the
// object store is away for now (the same command may succeed later), 1 for any other failure
// the API or the in-process service reports (their JSON body is printed). Other errors are bugs: they
// propagate and print a stack.
import { DomainError, type ErrorBody } from '../session/errors.js';
import { ApiError } from '../api/http-errors.js';

export const EXIT_FAILURE = 1;
export const EXIT_CONFLICT = 2;
/** sysexits.h EX_TEMPFAIL: the object store is away for now (store_unavailable, uploads_pending); try again later */
export const EXIT_TEMPFAIL = 75;

/** The body of a reported failure (in-process domain error, or an HTTP answer), or null. */
export function failureBodyOf(e: unknown): ErrorBody | null {
  if (e instanceof DomainError || e instanceof ApiError) return e.body;
  return null;
}

export function exitCodeOf(body: ErrorBody): number {
  if (body.error === 'conflict') return EXIT_CONFLICT;
  if (body.error === 'store_unavailable' || body.error === 'uploads_pending') return EXIT_TEMPFAIL;
  return EXIT_FAILURE;
}
