// What the RPC layer tells an observer (metrics) about the calls it serves. Optional: with no
// observer the dispatcher does no extra work. Names are those of RFC 5531 §9 accept_stat.

export type RejectReason = 'prog_unavail' | 'prog_mismatch' | 'proc_unavail' | 'auth_error' | 'rpc_mismatch' | 'garbage_header';

export interface RpcObserver {
  /** A call found its procedure and its handler starts. */
  callStarted(prog: number, vers: number, proc: number, name: string): void;
  /**
   * The handler finished. `acceptStat` is SUCCESS, GARBAGE_ARGS or SYSTEM_ERR; `result` is the
   * first word of the procedure's result (its status, for NFS and MOUNT) or -1 when there is none.
   */
  callDone(prog: number, vers: number, proc: number, name: string, acceptStat: number, result: number, seconds: number): void;
  /** A call answered without running a handler (no such program/procedure, bad credentials, bad header). */
  callRejected(prog: number, vers: number, proc: number, reason: RejectReason): void;
  /** A retransmission found in the duplicate-request cache: answered ('done') or dropped ('in-progress'). */
  drcHit(state: 'done' | 'in-progress'): void;
}
