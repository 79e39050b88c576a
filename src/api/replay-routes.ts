// Replay over HTTP (seed 004): GET /api/sessions/:id/replay streams the session's timeline as server-sent
// events (HTML Living Standard, "Server-sent events") with the recorded spacing divided by ?speed;
// GET /api/sessions/:id/replay/metadata says whether and what it can replay.
import type { SessionService } from '../session/service.js';
import { replayEvents, replayMetadata, replayOptions } from '../session/replay.js';
import type { RouteContext, TableRoute } from './route-table.js';

export interface ReplayDeps {
  /** the session service as the caller may use it (read access checked there) */
  gated(ctx: RouteContext): SessionService;
}

export function replayRoutes(d: ReplayDeps): TableRoute[] {
  const timeline = async (ctx: RouteContext) => (await d.gated(ctx).get(ctx.params[0]!)).session;
  return [
    {
      method: 'GET',
      path: '/api/sessions/:id/replay/metadata',
      handler: async (ctx) => {
        const s = await timeline(ctx);
        return { json: replayMetadata(s.session_id, s.timeline) };
      },
    },
    {
      method: 'GET',
      path: '/api/sessions/:id/replay',
      handler: async (ctx) => {
        const { query, req, res } = ctx;
        const lastId = req.headers['last-event-id'];
        const o = replayOptions({
          speed: query.get('speed') ?? undefined,
          after: (typeof lastId === 'string' ? lastId : undefined) ?? query.get('after') ?? undefined,
          max_gap: query.get('max_gap') ?? undefined,
        });
        const s = await timeline(ctx); // 404 / 403 before anything is streamed
        const meta = replayMetadata(s.session_id, s.timeline);
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
        res.write(`event: metadata\ndata: ${JSON.stringify({ ...meta, speed: o.speed })}\n\n`);
        const stop = new AbortController();
        res.on('close', () => stop.abort());
        let sent = 0;
        try {
          for await (const { event, delay_ms } of replayEvents(s.timeline, o, stop.signal)) {
            res.write(`id: ${event.seq}\nevent: timeline\ndata: ${JSON.stringify({ session_id: s.session_id, delay_ms, ...event })}\n\n`);
            sent++;
          }
        } catch (e) {
          if (!stop.signal.aborted) throw e;
        }
        if (!stop.signal.aborted) res.end(`event: end\ndata: ${JSON.stringify({ session_id: s.session_id, events: sent })}\n\n`);
        return { streamed: true };
      },
    },
  ];
}
