import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  COMPRESS_MIN_BYTES,
  FORMAT_RAW,
  FORMAT_ZSTD,
  decodeStored,
  encodeStored,
  encodeStoredInto,
  sha256Hex,
  storedBound,
} from '../../src/store/codec.js';

describe('codec', () => {
  it('sha256Hex matches the known digest', () => {
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abc')).toBe(sha256Hex(Buffer.from('abc')));
  });

  it('stores small and incompressible content raw, compressible content as zstd', () => {
    const small = Buffer.from('tiny');
    const encSmall = encodeStored(small);
    expect(encSmall[0]).toBe(FORMAT_RAW);
    expect(decodeStored(encSmall)).toEqual(small);

    const random = randomBytes(4096);
    const encRandom = encodeStored(random);
    expect(encRandom[0]).toBe(FORMAT_RAW);
    expect(decodeStored(encRandom)).toEqual(random);

    const text = Buffer.from('hello world '.repeat(1000));
    const encText = encodeStored(text);
    expect(encText[0]).toBe(FORMAT_ZSTD);
    expect(encText.length).toBeLessThan(text.length / 10);
    expect(decodeStored(encText)).toEqual(text);

    expect(decodeStored(encodeStored(Buffer.alloc(0)))).toEqual(Buffer.alloc(0));
    expect(encodeStored(Buffer.alloc(COMPRESS_MIN_BYTES - 1))[0]).toBe(FORMAT_RAW);
  });

  it('rejects unknown headers, empty input and broken zstd frames', () => {
    expect(() => decodeStored(Buffer.alloc(0))).toThrow();
    expect(() => decodeStored(Buffer.from([7, 1, 2]))).toThrow(/unknown format/);
    expect(() => decodeStored(Buffer.from([FORMAT_ZSTD, 1, 2, 3, 4, 5]))).toThrow();
  });

  it('encodeStoredInto writes the bytes encodeStored returns, at any offset, for any content (import-git packs them)', () => {
    // compressible text (tree-node-like JSON), random bytes, the sizes around the compression threshold
    const contents = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.uint8Array({ minLength: COMPRESS_MIN_BYTES - 2, maxLength: COMPRESS_MIN_BYTES + 2 }),
      fc
        .array(fc.constantFrom('{"name":"f', '","hash":"', 'ab12', '0', '9', ',"mode":420}'), { maxLength: 2000 })
        .map((a) => Buffer.from(a.join(''))),
      fc.integer({ min: 0, max: 20_000 }).map((n) => randomBytes(n)),
    );
    fc.assert(
      fc.property(contents, fc.nat(100), (c, at) => {
        const content = Buffer.from(c);
        const out = Buffer.alloc(at + storedBound(content.length), 0xee);
        const n = encodeStoredInto(content, out, at);
        expect(out.subarray(at, at + n).equals(encodeStored(content))).toBe(true);
        expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true); // nothing before `at` touched
        expect(decodeStored(out.subarray(at, at + n)).equals(content)).toBe(true);
      }),
      { numRuns: 200 },
    );
    // one context reused across calls of different sizes gives each call's own frame
    const big = Buffer.from('x'.repeat(100_000));
    const small = Buffer.from('y'.repeat(100));
    const out = Buffer.alloc(storedBound(big.length) + storedBound(small.length));
    const a = encodeStoredInto(big, out, 0);
    const b = encodeStoredInto(small, out, a);
    expect(out.subarray(0, a).equals(encodeStored(big))).toBe(true);
    expect(out.subarray(a, a + b).equals(encodeStored(small))).toBe(true);
  });
});
