// Waits for a condition that something else (a stream, a daemon, a hook) makes true: polls every 20 ms
// and fails with a clear error after `ms`. A bound on waiting, not a timing assertion.
export async function until(f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
