// The default of `serve --busy-poll-us` ("auto"): poll in user space (rpc/busy-poll.ts) only where the kernel
// does not poll itself. A KVM guest whose cpuidle haltpoll driver has guest_halt_poll_ns 0 halts its vCPU the
// moment it goes idle, and every call that then arrives wakes it through a VM exit; Linux's own default there
// is to poll up to 200 µs first (Documentation/virt/guest-halt-polling.rst); the window here goes up to 500 µs
// (rpc/busy-poll.ts DEFAULT_BUSY_POLL_US: the kernel client's gaps between calls). Elsewhere (bare metal, a
// guest that polls, no haltpoll driver) a user-space poll would only burn CPU: off.
import { readFileSync } from 'node:fs';
import { DEFAULT_BUSY_POLL_US } from '../../rpc/busy-poll.js';

export const HALTPOLL_NS = '/sys/module/haltpoll/parameters/guest_halt_poll_ns';

/** The window for "auto": DEFAULT_BUSY_POLL_US when the guest's halt-polling is off, else 0 (off). */
export function autoBusyPollUs(file = HALTPOLL_NS): number {
  try {
    return readFileSync(file, 'utf8').trim() === '0' ? DEFAULT_BUSY_POLL_US : 0;
  } catch {
    return 0;
  }
}
