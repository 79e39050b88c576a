// Errors raised by the storage layer.

/** A stored object failed verification (hash mismatch, undecodable bytes). Never served. */
export class CorruptObjectError extends Error {
  override name = 'CorruptObjectError';
  constructor(
    readonly key: string,
    readonly detail: string,
  ) {
    super(`corrupt object ${key}: ${detail}`);
  }
}

/** An object the caller referenced by hash is not in the store (why: what the store knows, e.g. a damaged pack). */
export class MissingObjectError extends Error {
  override name = 'MissingObjectError';
  constructor(
    readonly key: string,
    why?: string | null,
  ) {
    super(why ? `missing object ${key}: ${why}` : `missing object ${key}`);
  }
}

/** Why a directory entry name was rejected; the NFS layer maps 'too-long' to NAMETOOLONG. */
export type InvalidNameReason = 'empty' | 'slash' | 'nul' | 'dot' | 'too-long' | 'not-utf8';

export class InvalidNameError extends Error {
  override name = 'InvalidNameError';
  constructor(
    readonly entryName: string,
    readonly reason: InvalidNameReason,
  ) {
    super(`invalid entry name ${JSON.stringify(entryName)}: ${reason}`);
  }
}

/** A backend key or project name that is not allowed (path escape, reserved characters...). */
export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError';
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`invalid key ${JSON.stringify(key)}: ${detail}`);
  }
}
