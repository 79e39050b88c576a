// validateRelKey is one pass over the characters (import-git checks every key it queues); it accepts and
// rejects exactly what the rule says, with the same reasons as the split-and-regexp form it replaced.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../../src/store/errors.js';
import { validateRelKey } from '../../src/store/keys.js';

/** The rule, written plainly: the reason a key is refused, or null. */
function reason(key: string): string | null {
  if (key.length === 0 || key.length > 1024) return 'empty or too long';
  if (key.startsWith('/')) return 'absolute';
  if (/[\0\\~]/.test(key)) return 'contains NUL, "\\" or "~"';
  for (const seg of key.split('/')) if (seg === '' || seg === '.' || seg === '..') return `bad segment "${seg}"`;
  return null;
}

function actual(key: string): string | null {
  try {
    validateRelKey(key);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidKeyError);
    return (e as Error).message;
  }
}

describe('validateRelKey', () => {
  it('refuses exactly the keys the rule refuses, naming the same reason', () => {
    const piece = fc.constantFrom('a', 'b9', '.', '..', '...', '/', '//', '~', '\\', '\0', 'é', '.x', 'x.', '-');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const key = parts.join('');
        const want = reason(key);
        const got = actual(key);
        expect(got === null).toBe(want === null);
        if (want !== null) expect(got).toContain(want);
      }),
      { numRuns: 3000 },
    );
    expect(actual('x'.repeat(1025))).toContain('empty or too long');
    expect(actual('projects/a/b/trees/ab/' + 'ab'.repeat(32))).toBeNull();
  });
});
