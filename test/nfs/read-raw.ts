// A READ over the wire with its raw reply checked (RFC 1813 3.3.6 READ3resok): status OK, post-op attributes,
// count equal to the data's length, a zero XDR padding, and nothing after the data.
import { expect } from 'vitest';
import { NfsStatus, Proc, decodePostOpAttr, type Nfs3Client } from '../lib/nfs3-client.js';
import { XdrWriter } from '../../rpc/xdr.js';

export async function readRaw(client: Nfs3Client, fh: Buffer, offset: number, count: number): Promise<{ data: Buffer; eof: boolean }> {
  const r = await client.callNfs(Proc.READ, new XdrWriter().opaque(fh).u64(offset).u32(count));
  expect(r.u32()).toBe(NfsStatus.OK);
  expect(decodePostOpAttr(r)).not.toBeNull();
  const n = r.u32();
  const eof = r.bool();
  const len = r.u32();
  expect(len).toBe(n);
  const data = Buffer.from(r.buf.subarray(r.pos, r.pos + len));
  const pad = r.buf.subarray(r.pos + len, r.pos + ((len + 3) & ~3));
  expect([...pad]).toEqual(new Array(pad.length).fill(0));
  expect(r.pos + ((len + 3) & ~3)).toBe(r.end); // nothing after the data: the reply is exactly READ3resok
  return { data, eof };
}
