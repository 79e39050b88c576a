// Progress of `mic session handoff`: the daemon seals the session and waits for its uploads to the
// object store; meanwhile the CLI reads the daemon's upload queue depth from GET /metrics and shows
// how much of it has drained. Without a daemon API (or with nothing queued) it is one phase line.
import type { DaemonInfo } from '../daemon/daemon-info.js';
import type { PhasedProgress as Progress } from './progress.js';
import { apiUrl } from './backend.js';

/** mic_upload_queue_depth of a running daemon, or null when its API cannot be read. */
export async function uploadQueueDepth(d: DaemonInfo | null): Promise<number | null> {
  if (!d?.api_port) return null;
  try {
    const token = process.env.MIC_API_TOKEN;
    const res = await fetch(`${apiUrl(d)}/metrics`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return null;
    const m = /^mic_upload_queue_depth (\S+)$/m.exec(await res.text());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Runs `work` with a progress display of the daemon's draining upload queue. */
export async function withUploadProgress<T>(label: string, d: DaemonInfo | null, p: Progress, work: Promise<T>): Promise<T> {
  let settled = false;
  const finished = work.finally(() => {
    settled = true;
  });
  p.phase(`${label}: sealing`, 0);
  const first = await uploadQueueDepth(d);
  let start = first ?? 0;
  let uploading = false;
  while (!settled && first !== null) {
    await Promise.race([finished.catch(() => {}), new Promise((r) => setTimeout(r, 250))]);
    if (settled) break;
    const depth = await uploadQueueDepth(d);
    if (depth === null) break;
    if (depth > start) start = depth;
    if (depth > 0 && !uploading) {
      uploading = true;
      p.phase(`${label}: uploading`, start);
    }
    if (uploading) p.update(start - depth);
  }
  try {
    const r = await finished;
    p.done();
    return r;
  } catch (e) {
    p.done('failed');
    throw e;
  }
}
