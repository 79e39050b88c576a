// Identity's domain errors: the API maps them to 401 and 403, the CLI to exit codes.

/** No credential, or one that is unknown, revoked or expired. */
export class Unauthenticated extends Error {
  readonly code = 'unauthorized';
}

/** A known caller who lacks a right; the message names the right and the target. */
export class Forbidden extends Error {
  readonly code = 'forbidden';
  constructor(readonly right: string, readonly target: string, readonly actor: string) {
    super(`${actor} lacks the "${right}" right on ${target}`);
  }
}
