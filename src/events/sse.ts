// Server-sent events (HTML Living Standard, "Server-sent events"): GET /api/events streams the bus,
// filtered by project, type and session, resumable with the Last-Event-ID header (or ?last_event_id=).
import type http from 'node:http';
import { matches, type EventBus, type EventFilter, type MicEvent } from './event-bus.js';
import { watchStream, type StreamWatchOptions } from './stream-watch.js';

const HEARTBEAT_MS = 15_000;

function frame(e: MicEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** Streams events to res until the client goes away; `visible` decides, per event, whether the caller may
 *  see it; `recheck` (stream-watch.ts) ends the stream once the caller's credential no longer holds. */
export function streamEvents(
  bus: EventBus,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  filter: EventFilter,
  lastId?: string,
  visible: (e: MicEvent) => Promise<boolean> = async () => true,
  recheck?: Pick<StreamWatchOptions, 'allowed' | 'everyMs'>,
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': mic-fs events\nretry: 2000\n\n');
  const missed = bus.since(lastId, filter);
  if (missed.gap) res.write(`event: gap\ndata: ${JSON.stringify({ message: 'some events after the given id are no longer kept' })}\n\n`);
  const watch = watchStream(res, recheck, stop);
  // events are written in bus order even though each visibility check may wait
  let chain = Promise.resolve();
  const send = (e: MicEvent) => {
    chain = chain.then(async () => {
      if (watch && !(await watch.ok())) return;
      if (await visible(e).catch(() => false)) res.write(frame(e));
    });
  };
  for (const e of missed.events) send(e);
  const off = bus.subscribe((e) => {
    if (matches(e, filter)) send(e);
  });
  const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  beat.unref();
  function stop() {
    off();
    clearInterval(beat);
    watch?.stop();
  }
  req.on('close', stop);
  res.on('close', stop);
}
