// Public API of the ONC RPC layer (RFC 5531). Knows nothing of NFS.
export * from './handler.js';
export { XdrError, XdrReader, XdrWriter } from './xdr.js';
export * from './message.js';
export { AuthSysCache, MAX_GIDS, MAX_MACHINE_NAME, authenticate, encodeAuthSys, parseAuthSys, rejectFlavor } from './auth.js';
export {
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_RECORD_SIZE,
  RecordDecoder,
  RecordLimitError,
  RecordMemoryBudget,
  RecordMemoryError,
  RecordTooLargeError,
  TooManyFragmentsError,
  frame,
  recordMark,
  type RecordDecoderOptions,
} from './record-marking.js';
export { ProgramRegistry, RegistryMiss } from './registry.js';
export { DuplicateRequestCache, type DrcEntry, type DrcOptions } from './drc.js';
export { RpcServer, type PeerVerdict, type RpcServerOptions } from './server.js';
export {
  DEFAULT_CLIENT_AUTH,
  RpcClient,
  RpcClosedError,
  RpcError,
  RpcTimeoutError,
  type CallOptions,
  type RpcClientOptions,
} from './client.js';
export type { RejectReason, RpcObserver } from './observer.js';
export { RpcUdpServer } from './udp.js';
export { BusyPoll, DEFAULT_BUSY_POLL_US, PollGovernor, type BusyPollOptions } from './busy-poll.js';
