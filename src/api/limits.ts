// Resource limits of the HTTP API: per-route body limits checked against Content-Length before anything is
// read (413 at once, and the connection closed so the rest of a huge body is never read), bodies read only
// after the route, the session and the caller are known, and node:http's timeouts and connection cap set
// (its defaults leave idle and half-sent requests open for minutes and connections unbounded).
import type http from 'node:http';
import { ApiError } from './http-errors.js';
import { InvalidInputError } from '../session/errors.js';

export interface ApiLimits {
  /** body limit of ordinary routes (bytes) */
  maxBody: number;
  /** body limit of routes that carry file contents (POST /api/sessions, .../files, .../land) */
  maxFilesBody: number;
  /** the whole header block must arrive within this (ms): slow-header (slowloris) clients are cut off */
  headersTimeoutMs: number;
  /** the whole request, body included, must arrive within this (ms) */
  requestTimeoutMs: number;
  /** a connection with no traffic for this long is closed (ms) */
  idleTimeoutMs: number;
  /** between requests on a kept-alive connection (ms) */
  keepAliveTimeoutMs: number;
  /** open connections at most; more are closed on accept */
  maxConnections: number;
  /** an event stream re-checks its caller's token and right when its last check is older than this
   *  (ms; 0 before every event), and at least every max(this, 1 s) while idle */
  streamRecheckMs: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxBody: 1024 * 1024,
  maxFilesBody: 64 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 128,
  streamRecheckMs: 2_000,
};

/** Applies the timeouts and the connection cap to a server. */
export function applyServerLimits(server: http.Server, l: ApiLimits): void {
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = l.requestTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.maxConnections = l.maxConnections;
  server.setTimeout(l.idleTimeoutMs, (socket) => socket.destroy());
}

/** node:http checks headersTimeout and requestTimeout this often (ms): well inside the shortest of them. */
export function checkingInterval(l: ApiLimits): number {
  return Math.max(100, Math.min(1000, Math.floor(Math.min(l.headersTimeoutMs, l.requestTimeoutMs) / 4)));
}

export function tooLarge(max: number): ApiError {
  return new ApiError(413, { error: 'too_large', message: `request body is larger than ${max} bytes (this route's limit)` });
}

/** Throws 413 when the declared Content-Length exceeds max (before any of the body is read). */
export function checkDeclaredLength(req: http.IncomingMessage, max: number): void {
  const len = req.headers['content-length'];
  if (len === undefined) return;
  if (!/^\s*\d+\s*$/.test(len)) throw new InvalidInputError('content-length', 'is not a number');
  if (Number(len) > max) throw tooLarge(max);
}

/**
 * Reads and parses a JSON body of at most max bytes (undefined when empty). Going over the limit while
 * reading (a chunked body) rejects with 413 and stops reading; the caller closes the connection.
 */
export function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      req.removeListener('data', onData);
      req.pause();
      reject(e);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) return fail(tooLarge(max));
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('error', fail);
    req.on('aborted', () => fail(new ApiError(400, { error: 'aborted', message: 'the request body was cut short' })));
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new InvalidInputError('body', `is not valid JSON (${(e as Error).message})`));
      }
    });
  });
}
