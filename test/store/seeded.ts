// Deterministic pseudo-random bytes for the chunking tests (AES-CTR keystream of a seed).
import { createCipheriv } from 'node:crypto';

export function seeded(n: number, seed = 1): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16)).update(Buffer.alloc(n));
}
