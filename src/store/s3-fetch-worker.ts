// The worker thread behind S3FetchPool: runs S3Fetcher's GETs off the main thread, so receiving and
// copying object bodies does not hold up NFS calls. Bodies come back transferred, not copied.
import { parentPort, workerData } from 'node:worker_threads';
import { S3Fetcher, type S3Credentials, type S3FetchOptions } from './s3-fetch.js';
import { isContentAddressedKey, verifyContentAddressed } from './disk-cache.js';

export interface FetchRequest {
  id: number;
  key: string;
  cred: S3Credentials;
}
export type FetchReply =
  /** checked: the key names a content-addressed object and data matches its hash (verifyContentAddressed) */
  | { id: number; data: Uint8Array | null; checked?: boolean }
  | { id: number; error: { message: string; name: string; code?: string; Code?: string; status?: number } };

const port = parentPort;
if (port) {
  let cred: S3Credentials | null = null;
  const fetcher = new S3Fetcher({ ...(workerData as Omit<S3FetchOptions, 'credentials'>), credentials: async () => cred! });
  port.on('message', (m: FetchRequest) => {
    cred = m.cred;
    fetcher.get(m.key).then(
      (data) => {
        // the hash of a content-addressed object is checked here, off the thread that answers NFS calls
        const checked = data !== null && isContentAddressedKey(m.key) && verifyContentAddressed(m.key, data);
        if (data && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) {
          port.postMessage({ id: m.id, data, checked } satisfies FetchReply, [data.buffer as ArrayBuffer]);
        } else port.postMessage({ id: m.id, data, checked } satisfies FetchReply); // small or pooled: copied
      },
      (e: unknown) => {
        const x = e as { message?: string; name?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
        port.postMessage({
          id: m.id,
          error: {
            message: String(x?.message ?? e),
            name: x?.name ?? 'Error',
            code: x?.code,
            Code: x?.Code,
            status: x?.$metadata?.httpStatusCode,
          },
        } satisfies FetchReply);
      },
    );
  });
}
