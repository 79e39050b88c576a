// `serve --busy-poll-us auto` (the default): 500 µs only on a guest whose halt-polling is off.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { autoBusyPollUs } from '../../src/daemon/busy-poll-default.js';

describe('autoBusyPollUs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mic-haltpoll-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const param = (v: string): string => {
    const f = path.join(dir, `p${n++}`);
    writeFileSync(f, v);
    return f;
  };

  it("polls up to 500 µs when the guest's halt-polling is off (a kernel client's gaps between calls: perf-notes, work8)", () => {
    expect(autoBusyPollUs(param('0\n'))).toBe(500);
  });

  it('does not poll when the kernel polls itself, or has no haltpoll driver', () => {
    expect(autoBusyPollUs(param('200000\n'))).toBe(0);
    expect(autoBusyPollUs(path.join(dir, 'missing'))).toBe(0);
  });
});
