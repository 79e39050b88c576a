// mic session replay <id> [--speed N]: the session's timeline played back (seed 004 replay), each event
// printed after its recorded spacing divided by the speed; --json prints one JSON event per line.
import type { Command } from 'commander';
import { withBackend } from './backend.js';
import { out, printJson } from './common.js';
import { replayEvents, replayMetadata, replayOptions } from '../session/replay.js';
import type { TimelineEvent } from '../session/record.js';

function describe(e: TimelineEvent): string {
  switch (e.type) {
    case 'file':
      return `${e.change_type} ${e.path}${e.via ? ` (${e.via})` : ''}`;
    case 'status':
      return `${e.from} -> ${e.status}`;
    case 'conversation':
      return `message from ${e.role}`;
    case 'decision':
      return `decided: ${e.decision}`;
    case 'landed':
      return `landed as ${e.head?.slice(0, 12)}: ${e.message}`;
    case 'started':
      return `started at ${e.head?.slice(0, 12)}`;
    default:
      return e.head ? `${e.type} ${e.head.slice(0, 12)}` : e.type;
  }
}

export function addReplayCommand(cmd: Command): void {
  cmd
    .command('replay <id>')
    .description("play the session's timeline back with its recorded spacing (divided by --speed)")
    .option('--speed <n>', 'playback speed: 1 real time, 10 ten times faster', '1')
    .option('--after <seq>', 'start after this event number')
    .option('--max-gap <seconds>', 'never wait longer than this between two events', '10')
    .option('--metadata', 'print the replay metadata (event count, duration, can_replay) only')
    .option('--json', 'print JSON (one event per line)')
    .action(async (id: string, o, c: Command) =>
      withBackend(c, o.json, async (api) => {
        const opts = replayOptions({ speed: o.speed, after: o.after, max_gap: o.maxGap });
        const s = (await api.get(id)).session;
        const meta = replayMetadata(s.session_id, s.timeline);
        if (o.metadata) {
          if (o.json) return printJson(meta);
          out(`${meta.event_count} events over ${(meta.duration_ms / 1000).toFixed(1)} s; can replay: ${meta.can_replay}`);
          return;
        }
        for await (const { event } of replayEvents(s.timeline, opts)) {
          if (o.json) out(JSON.stringify(event));
          else
            out(
              `${String(event.seq).padStart(4)}  ${event.time.slice(0, 19)}  ${event.type.padEnd(13)} ${describe(event)}${event.actor ? `  by ${event.actor}` : ''}`,
            );
        }
      }),
    );
}
