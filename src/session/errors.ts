// Errors that carry an HTTP status and a JSON body. The service throws them, the HTTP server sends them,
// and the typed client throws them again on its side, so the CLI handles both paths alike.
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

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(body.message);
  }

  /** 400: names the field and the reason. */
  static invalid(field: string, reason: string): ApiError {
    return new ApiError(400, { error: 'invalid_input', message: `${field}: ${reason}`, field, reason });
  }

  static notFound(what: string, message = `${what} not found`): ApiError {
    return new ApiError(404, { error: 'not_found', message });
  }

  /** 409: the request does not fit the session's state (landed, suspended, ...). */
  static state(message: string, session?: unknown): ApiError {
    return new ApiError(409, { error: 'invalid_state', message, ...(session ? { session } : {}) });
  }

  static conflicts(conflicts: Conflict[], session: unknown): ApiError {
    const paths = conflicts.slice(0, 5).map((c) => `${c.path} (${c.kind})`).join(', ');
    return new ApiError(409, {
      error: 'conflict',
      message: `${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'} with the head: ${paths}${conflicts.length > 5 ? ', ...' : ''}`,
      conflicts,
      session,
    });
  }
}
