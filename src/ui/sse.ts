// Server-sent events for open pages: one stream per page, filtered to a session (or a project), with
// bursts coalesced (an NFS client writing a file reports every WRITE) into one `change` event per
// COALESCE_MS. The page re-reads what changed; the event only says that, and which kinds.
import type http from 'node:http';
import type { SessionEvent, SessionEvents } from '../session/events.js';
import { watchStream, type StreamWatchOptions } from '../events/stream-watch.js';

const COALESCE_MS = 150;
const HEARTBEAT_MS = 15_000;

export interface EventFilter {
  session?: string;
  project?: string;
}

export function serveEvents(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  events: SessionEvents,
  f: EventFilter,
  recheck?: Pick<StreamWatchOptions, 'allowed' | 'everyMs'>,
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write('retry: 1000\n\n');
  const kinds = new Set<string>();
  let last: SessionEvent | null = null;
  let timer: NodeJS.Timeout | null = null;
  const watch = watchStream(res, recheck, done);
  const flush = () => {
    timer = null;
    if (!kinds.size) return;
    const types = [...kinds];
    kinds.clear();
    const at = last;
    void (watch ? watch.ok() : Promise.resolve(true)).then((yes) => {
      if (yes && !res.writableEnded) res.write(`event: change\ndata: ${JSON.stringify({ types, last: at })}\n\n`);
    });
  };
  const off = events.on((e) => {
    if (f.session && e.session !== f.session) return;
    if (f.project && (e.type !== 'session' || e.project !== f.project)) return;
    kinds.add(e.type);
    last = e;
    timer ??= setTimeout(flush, COALESCE_MS);
  });
  const beat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  beat.unref();
  function done() {
    off();
    clearInterval(beat);
    watch?.stop();
    if (timer) clearTimeout(timer);
  }
  req.on('close', done);
  res.on('error', done);
}
