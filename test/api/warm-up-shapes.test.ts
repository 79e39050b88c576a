// The start-up warm-up (src/daemon/warm-up.ts) compiles the call path with the daemon's own shapes and paths, so
// a real client's calls do not throw that code away (docs/perf-notes.md, "branch deopt11"). A real `mic serve`
// with its default warm-up, under node --trace-deopt-verbose, then a real client's mount and more
// non-idempotent calls than the daemon's duplicate-request cache holds (8192): no deoptimization in
//   - the duplicate-request cache (rpc/drc.ts): a warm-up whose cache never filled left the path that reuses
//     the oldest slot without type feedback, and `begin` deoptimized when the client's calls filled it;
//   - the session exports (src/session/exports.ts): the warm-up built its SessionExports from an options
//     literal of other keys than the daemon's, and `resolve` deoptimized ("wrong map") at the first call;
//   - SETATTR's decoding and setAttributesNow (src/nfs/setattr.ts, src/core/edits.ts): the warm-up's SETATTRs
//     all set mode and both times, and a client's of the mtime alone was an object shape they had not seen.
// What is counted is V8's own trace of the spawned daemon; no timing.
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../lib/daemon.js';
import { Nfs3Client } from '../lib/nfs3-client.js';

/** Deoptimizations after `from` in a --trace-deopt-verbose log: function, reason and the source position. */
function deopts(log: string): { fn: string; reason: string; at: string }[] {
  const out: { fn: string; reason: string; at: string }[] = [];
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /\[bailout \(kind: [^,]*, reason: ([^)]*)\).*?<JSFunction ([^ >]*)/.exec(lines[i]!);
    if (!m) continue;
    let at = '';
    for (let j = i + 1; j < Math.min(lines.length, i + 40); j++) {
      const a = /;;; deoptimize at (.*)/.exec(lines[j]!);
      if (a) {
        at = a[1]!; // the position, then where it was inlined
        break;
      }
      if (lines[j]!.includes('[bailout')) break;
    }
    out.push({ fn: m[2]!, reason: m[1]!, at });
  }
  return out;
}

describe('start-up warm-up and the first client', () => {
  it("leaves no deoptimization of the duplicate-request cache or the session exports to a client's calls", async () => {
    const d = await startDaemon({
      env: { MIC_WARM_UP_CALLS: '16000' },
      // V8's trace and pino's lines share stdout: V8's line-buffered so that neither cuts the other's lines
      wrap: ['stdbuf', '-oL', 'bash', '-c', 'shift; exec node --trace-deopt-verbose "$@"', '_'],
    });
    try {
      expect(d.log()).toContain('"msg":"warm-up done"');
      await d.initProject('acme/shapes', { 'a.txt': 'a\n' });
      const s = await d.startSession('acme/shapes', 'warm-up shapes');
      const from = d.log().length;
      const c = await Nfs3Client.connect(d.port);
      try {
        const root = await c.mountRoot(s.export);
        const dir = (await c.mkdir(root, 'd')).fh!;
        // 4,200 CREATEs and as many REMOVEs, 16 in flight: 8,400 calls through the cache, which holds 8,192
        const N = 4200;
        const window = async (fn: (i: number) => Promise<void>) => {
          let next = 0;
          await Promise.all(
            Array.from({ length: 16 }, async () => {
              while (next < N) await fn(next++);
            }),
          );
        };
        await window(async (i) => expect((await c.create(dir, `f${i}`)).status).toBe(0));
        for (let i = 0; i < 300; i++) {
          const fh = (await c.lookup(dir, `f${i}`)).fh!;
          expect((await c.setattr(fh, { mtime: { sec: 1_700_000_000 + i, nsec: 0 } })).status).toBe(0);
        }
        await window(async (i) => expect((await c.remove(dir, `f${i}`)).status).toBe(0));
      } finally {
        await c.close();
      }
      const seen = deopts(d.log().slice(from));
      const ours = seen.filter((x) => /\/(rpc\/drc|session\/exports|core\/edits|nfs\/setattr)\.js:/.test(x.at));
      expect(ours).toEqual([]);
    } finally {
      await d.stop();
    }
  }, 120_000);
});
