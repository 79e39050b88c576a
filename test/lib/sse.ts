// Server-sent event streams for tests (HTML Living Standard, "Server-sent events", 9.2.6 "Interpreting an
// event stream"): frames end at a blank line; `field: value` lines (one optional space after the colon),
// several data lines joined with "\n", lines starting with ":" are comments; a frame without data is not
// an event (the stream's opening comment and `retry:`). Data is parsed as JSON where it is JSON.
import http from 'node:http';

export interface SseEvent {
  /** the event type ("message" when the frame names none) */
  event: string;
  id?: string;
  data: any;
}

function dataOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The events of the complete frames at the start of buf, and what is left (an unfinished frame). */
export function parseSse(buf: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const text = buf.replace(/\r\n?/g, '\n');
  let at = 0;
  for (let end: number; (end = text.indexOf('\n\n', at)) >= 0; at = end + 2) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of text.slice(at, end).split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) events.push({ event, ...(id === undefined ? {} : { id }), data: dataOf(data.join('\n')) });
  }
  return { events, rest: text.slice(at) };
}

export interface SseStream {
  /** the response's status */
  status: number;
  /** every event received so far */
  events: SseEvent[];
  /** the server ended the response */
  ended: boolean;
  close(): void;
}

/** Opens a stream (GET url) and collects its events until close() or the server's end. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const s: SseStream = { status: res.statusCode!, events: [], ended: false, close: () => req.destroy() };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        const got = parseSse(buf + c);
        buf = got.rest;
        s.events.push(...got.events);
      });
      res.on('end', () => (s.ended = true));
      res.on('error', () => (s.ended = true));
      resolve(s);
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
  });
}

/** Reads a stream the server ends by itself to its end: its status and events. */
export async function readSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; events: SseEvent[] }> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    events: parseSse(text.endsWith('\n\n') ? text : `${text}\n\n`).events,
  };
}
