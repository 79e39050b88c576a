// Moved to util/buffer-pool.ts (shared by rpc/ and src/). This re-export only keeps src/fs/session-fs.ts
// compiling until its split (branch `core`) imports util/ directly; delete it then.
export * from '../util/buffer-pool.js';
