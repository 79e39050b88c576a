// Registration with a system rpcbind that already owns port 111: RPCBPROC_SET / RPCBPROC_UNSET of
// RPCBIND version 3 (RFC 1833 §2.2) over rpcbind's local stream socket, which it trusts as local
// (it knows the caller's uid from the socket). One call per connection, record-marked (RFC 5531 §11).
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { RecordDecoder, frame } from '../../rpc/record-marking.js';
import { parseReply, writeCallHeader, SUCCESS } from '../../rpc/message.js';
import { XdrReader, XdrWriter } from '../../rpc/xdr.js';
import { PMAP_PROGRAM } from './table.js';

export const RPCBIND_SOCKET = '/run/rpcbind.sock';
const RPCB_V3 = 3;
const RPCBPROC_SET = 1;
const RPCBPROC_UNSET = 2;

export interface RpcbEntry {
  prog: number;
  vers: number;
  netid: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  host: string;
  port: number;
}

/** Universal address of host:port (RFC 1833 §2.1 / RFC 5665 §5.2.3.3): "h1.h2.h3.h4.p1.p2", "::.p1.p2". */
export function universalAddress(host: string, port: number): string {
  return `${host}.${port >> 8}.${port & 255}`;
}

/** One RPC call over a unix stream socket; resolves with the reader of a SUCCESS result. */
function callUnix(path: string, proc: number, args: XdrWriter, timeoutMs: number): Promise<XdrReader> {
  return new Promise((resolve, reject) => {
    const xid = randomInt(1, 0x7fffffff);
    const w = new XdrWriter(256);
    writeCallHeader(w, { xid, prog: PMAP_PROGRAM, vers: RPCB_V3, proc });
    const sock = net.connect({ path });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`rpcbind at ${path} did not answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err: Error | null, r?: XdrReader) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(r!);
    };
    const dec = new RecordDecoder(
      (rec: Buffer) => {
        try {
          const h = parseReply(rec);
          if (h.xid !== xid) return;
          if (h.kind !== 'accepted' || h.stat !== SUCCESS) return done(new Error(`rpcbind refused the call (${h.kind}, stat ${h.stat})`));
          done(null, new XdrReader(rec, h.bodyStart));
        } catch (e) {
          done(e as Error);
        }
      },
      { maxRecordSize: 65536 },
    );
    sock.on('data', (b: Buffer) => {
      try {
        dec.push(b);
      } catch (e) {
        done(e as Error);
      }
    });
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write(Buffer.concat(frame([w.toBuffer(), args.toBuffer()]))));
  });
}

function rpcbArgs(e: RpcbEntry, owner: string): XdrWriter {
  const w = new XdrWriter(128);
  w.u32(e.prog)
    .u32(e.vers)
    .string(e.netid)
    .string(e.port ? universalAddress(e.host, e.port) : '')
    .string(owner);
  return w;
}

/** Registers (prog, vers, netid) -> host:port; false when rpcbind refuses (already registered, or not allowed). */
export async function rpcbSet(e: RpcbEntry, o: { socket?: string; timeoutMs?: number } = {}): Promise<boolean> {
  const r = await callUnix(o.socket ?? RPCBIND_SOCKET, RPCBPROC_SET, rpcbArgs(e, 'mic-fs'), o.timeoutMs ?? 3000);
  return r.u32() !== 0;
}

/** Removes the registrations of (prog, vers, netid); the address is not looked at. */
export async function rpcbUnset(e: Omit<RpcbEntry, 'host' | 'port'>, o: { socket?: string; timeoutMs?: number } = {}): Promise<boolean> {
  const r = await callUnix(
    o.socket ?? RPCBIND_SOCKET,
    RPCBPROC_UNSET,
    rpcbArgs({ ...e, host: '', port: 0 }, 'mic-fs'),
    o.timeoutMs ?? 3000,
  );
  return r.u32() !== 0;
}
