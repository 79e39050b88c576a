// The one place where failures become HTTP statuses. The session layer throws domain errors
// (src/session/errors.ts); the HTTP layer adds its own (401, 405, 413, no route) as ApiError. The typed
// client throws ApiError again on its side with the server's status and body.
import { DomainError, type ErrorBody, type ErrorKind } from '../session/errors.js';
import { UploadsPendingError } from '../store/upload-queue.js';

export type { ErrorBody };

/** A failure with an HTTP status: raised by the HTTP layer, and by the typed client for non-2xx answers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
}

const STATUS: Record<ErrorKind, number> = {
  invalid: 400, // RFC 9110 §15.5.1
  not_found: 404, // §15.5.5
  state: 409, // §15.5.10: the request conflicts with the resource's current state
  conflict: 409,
  unauthorized: 401, // §15.5.2
  forbidden: 403, // §15.5.4
  method: 405, // §15.5.6
  too_large: 413, // §15.5.14
  unavailable: 503, // §15.6.4: the object store is away for now; the same request may succeed later
};

/** The status and body to answer with, or null for an unexpected error (a 500). */
export function httpErrorOf(e: unknown): { status: number; body: ErrorBody } | null {
  if (e instanceof ApiError) return { status: e.status, body: e.body };
  if (e instanceof DomainError) return { status: STATUS[e.kind], body: e.body };
  // a write that must follow the queued uploads (a record, a ref) and waited for them in vain: the store is
  // away for now, as StoreUnavailableError says for a landing
  if (e instanceof UploadsPendingError) return { status: 503, body: { error: 'uploads_pending', message: e.message } };
  return null;
}
