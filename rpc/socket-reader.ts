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

/**
 * One read into the shared buffer fetches at most this much: many small calls, or the start of a large record,
 * whose rest is then read into the record's own pooled buffer (`InPlace`), not copied there from this one.
 */
export const SHARED_READ_SIZE = 128 * 1024;

/** A large record's rest read straight into its own buffer (RecordDecoder.inPlaceTarget / pushInPlace). */
export interface InPlace {
  /** where the next read should go, or null for the shared buffer */
  target(): Buffer | null;
  /** n bytes were read into the last target */
  done(n: number): void;
}

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
export function readIntoShared(socket: Socket, onChunk: (chunk: Buffer) => void, inPlace?: InPlace): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void; reading?: boolean } })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || handle.reading || !socket.isPaused() || socket.readableLength > 0)
    return false;
  const k = onreadSlots(socket);
  if (k === null) return false;
  shared ??= Buffer.allocUnsafeSlow(SHARED_READ_SIZE);
  const target = socket as unknown as Record<symbol, unknown>;
  const sh = shared;
  target[k.buffer] = sh;
  // net.Socket calls the generator after each read's callback; what it returns is where the next read goes
  target[k.generator] = inPlace ? (): Buffer => inPlace.target() ?? sh : null;
  target[k.callback] = (n: number, buf: Buffer): void => {
    if (buf === sh) onChunk(buf.subarray(0, n));
    else inPlace!.done(n);
  };
  handle.useUserBuffer(sh);
  return true;
}
