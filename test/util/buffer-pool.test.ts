import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { BufferPool } from '../../util/buffer-pool.js';
import { RecordDecoder, frame } from '../../rpc/record-marking.js';

describe('pooled record assembly', () => {
  it('assembles a large record split across chunks into a pooled buffer, byte for byte', () => {
    const pool = new BufferPool(300 * 1024, 4);
    const got: { rec: Buffer; pooled?: Buffer }[] = [];
    const dec = new RecordDecoder((rec, pooled) => got.push({ rec: Buffer.from(rec), pooled }), { pool });
    const body = randomBytes(200 * 1024);
    const wire = Buffer.concat([...frame([body]), ...frame([Buffer.from('tiny')])]);
    for (let off = 0; off < wire.length; off += 7001) dec.push(wire.subarray(off, off + 7001));
    expect(got).toHaveLength(2);
    expect(got[0].rec.equals(body)).toBe(true);
    expect(got[0].pooled?.length).toBe(pool.size);
    expect(got[1].rec.toString()).toBe('tiny');
    expect(got[1].pooled).toBeUndefined();
    // a buffer given back is handed out again
    pool.give(got[0].pooled!);
    expect(pool.take()).toBe(got[0].pooled);
  });

  it('does not pool records larger than the pool buffers', () => {
    const pool = new BufferPool(100 * 1024, 4);
    const got: (Buffer | undefined)[] = [];
    const dec = new RecordDecoder((_rec, pooled) => got.push(pooled), { pool });
    const wire = Buffer.concat(frame([randomBytes(150 * 1024)]));
    for (let off = 0; off < wire.length; off += 65536) dec.push(wire.subarray(off, off + 65536));
    expect(got).toEqual([undefined]);
  });
});
