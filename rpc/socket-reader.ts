// Socket reads into one buffer shared by every connection, instead of the fresh 64 KiB Buffer
// Node allocates per read: a 1 MiB WRITE then arrives in one or a few reads, with no allocation
// and no garbage for the collector, and no stream machinery ('data' events) per chunk.
//
// This is Node's own `onread` option of net.Socket (a reusable buffer and a callback), which
// net.Server does not offer for the sockets it accepts; it is set on an accepted socket before
// it starts reading (the server accepts with pauseOnConnect). The chunk handed to `onChunk` is
// only valid until it returns: the next read of any connection overwrites it, so whatever is
// kept must be copied (RecordDecoder's `transient` option does).
import type { Socket } from 'node:net';

/** One read fetches at most this much: a 1 MiB WRITE record and its headers. */
export const SHARED_READ_SIZE = 1024 * 1024 + 64 * 1024;

let shared: Buffer | null = null;

interface OnreadSlots {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}
let slots: OnreadSlots | null | undefined;

/** The private slots net.Socket keeps its `onread` option in, or null if this Node has none. */
function onreadSlots(s: Socket): OnreadSlots | null {
  if (slots !== undefined) return slots;
  const own = Object.getOwnPropertySymbols(s);
  const find = (d: string): symbol | undefined => own.find((x) => x.description === d);
  const buffer = find('kBuffer');
  const callback = find('kBufferCb');
  const generator = find('kBufferGen');
  slots = buffer && callback && generator ? { buffer, callback, generator } : null;
  return slots;
}

/**
 * Makes `socket` read into the shared buffer and hand each chunk to `onChunk`. Only for a socket
 * that has not started reading (paused, nothing buffered); returns false (and changes nothing)
 * when that is not so or this Node lacks the mechanism: the caller then listens for 'data'.
 * Pausing and resuming the socket keep working (net.Socket handles them for `onread`).
 */
export function readIntoShared(socket: Socket, onChunk: (chunk: Buffer) => void): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void; reading?: boolean } })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || handle.reading || !socket.isPaused() || socket.readableLength > 0)
    return false;
  const k = onreadSlots(socket);
  if (k === null) return false;
  shared ??= Buffer.allocUnsafeSlow(SHARED_READ_SIZE);
  const target = socket as unknown as Record<symbol, unknown>;
  target[k.buffer] = shared;
  target[k.generator] = null;
  target[k.callback] = (n: number, buf: Buffer): void => onChunk(buf.subarray(0, n));
  handle.useUserBuffer(shared);
  return true;
}
