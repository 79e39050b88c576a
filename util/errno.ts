// Node's system errors carry their errno name in `code` (ENOENT, EEXIST, ...).

/** True when e is a Node system error whose code is one of codes. */
export function isCode(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}
