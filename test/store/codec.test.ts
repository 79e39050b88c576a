import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { COMPRESS_MIN_BYTES, FORMAT_RAW, FORMAT_ZSTD, decodeStored, encodeStored, sha256Hex } from '../../src/store/codec.js';

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
});
