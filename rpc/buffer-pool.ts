// Moved to util/buffer-pool.ts (shared by rpc/ and src/). This re-export keeps code written before the
// move compiling (src/fs/session-fs.ts, and the copy-on-write core on branch core): delete it once nothing imports it.
export * from '../util/buffer-pool.js';
