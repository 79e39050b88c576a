// Crash points, for the kill tests only: a test that must stop the daemon at an exact step (between two
// writes that must look atomic) sets MIC_CRASH_FILE=<path> in the daemon's environment and writes a point's
// name into that file; the daemon SIGKILLs itself when it next reaches that point, after deleting the file
// (one shot: the restarted daemon goes on normally). Without MIC_CRASH_FILE (production) a crash point is a
// no-op that reads nothing. Points: rebase-rebuilding, rebase-built, rebase-recorded, rebase-swapping
// (session/rebase.ts, session/rebase-state.ts), session-start-tree (session/fs-base.ts), handoff-recorded
// (session/handoff.ts).
import { readFileSync, rmSync } from 'node:fs';

const FILE = process.env.MIC_CRASH_FILE;

export function crashPoint(name: string): void {
  if (!FILE) return;
  let want: string;
  try {
    want = readFileSync(FILE, 'utf8').trim();
  } catch {
    return;
  }
  if (want !== name) return;
  rmSync(FILE, { force: true });
  process.kill(process.pid, 'SIGKILL');
}
