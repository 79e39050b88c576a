// mic doctor: checks what a working setup needs and says what to fix. Server side: the data
// directory (exists, writable, not open to others, free space), the handle secret, the S3
// configuration (credentials, bucket, conditional writes); the ports (NFS/MOUNT answer RPC NULL, the
// portmapper, the API). Client side: is mount.nfs (mount_nfs on macOS) installed. Exit status 1 when
// any check fails.
import fs from 'node:fs';
import path from 'node:path';
import { RpcClient, RpcClosedError } from '../../rpc/client.js';
import { openBackend, checkBackend } from '../store/open-backend.js';
import { PMAP_PORT, PMAP_PROGRAM, PMAP_V2, IPPROTO_TCP } from '../portmap/table.js';
import { MOUNT_PROGRAM, MOUNT_V3 } from '../mount/common.js';
import { NFS_PROGRAM, NFS_V3 } from '../nfs/common.js';
import { XdrWriter } from '../../rpc/xdr.js';
import { SECRET_SIZE } from '../daemon/data-dir.js';

export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const GiB = 1024 ** 3;
const MIN_FREE = 1 * GiB;

function gib(n: number): string {
  return `${(n / GiB).toFixed(1)} GiB`;
}

export function checkDataDir(dir: string): Check[] {
  const checks: Check[] = [];
  if (!fs.existsSync(dir)) {
    return [
      {
        name: 'data directory',
        status: 'warn',
        detail: `${dir} does not exist yet`,
        fix: `it is created on first use (mic project init); or give --data-dir / MIC_DATA_DIR`,
      },
    ];
  }
  const st = fs.statSync(dir);
  if (!st.isDirectory())
    return [
      {
        name: 'data directory',
        status: 'fail',
        detail: `${dir} is not a directory`,
        fix: 'point --data-dir / MIC_DATA_DIR at a directory',
      },
    ];
  try {
    const probe = path.join(dir, `.doctor-${process.pid}`);
    fs.writeFileSync(probe, 'x');
    fs.rmSync(probe);
    const open = (st.mode & 0o002) !== 0;
    checks.push(
      open
        ? {
            name: 'data directory',
            status: 'fail',
            detail: `${dir} is writable by every user (mode ${(st.mode & 0o777).toString(8)})`,
            fix: `chmod o-w ${dir}`,
          }
        : { name: 'data directory', status: 'ok', detail: `${dir} is writable` },
    );
  } catch (e) {
    checks.push({
      name: 'data directory',
      status: 'fail',
      detail: `cannot write in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      fix: `run as the directory's owner (uid ${st.uid}) or chown it`,
    });
  }
  try {
    const s = fs.statfsSync(dir);
    const free = s.bavail * s.bsize;
    checks.push(
      free < MIN_FREE
        ? {
            name: 'free space',
            status: 'warn',
            detail: `${gib(free)} free under ${dir}`,
            fix: 'free some space: sessions write there before landing, and the S3 cache and outbox live there',
          }
        : { name: 'free space', status: 'ok', detail: `${gib(free)} free under ${dir}` },
    );
  } catch {
    /* statfs unsupported */
  }
  checks.push(checkSecret(dir));
  return checks;
}

/** <dataDir>/secret: SECRET_SIZE+ random bytes, readable only by the daemon's user (file handles are signed with it). */
export function checkSecret(dir: string): Check {
  const file = path.join(dir, 'secret');
  const fix = `restart the daemon: it replaces a torn secret (or remove ${file}); mounted clients must mount again`;
  if (!fs.existsSync(file)) return { name: 'handle secret', status: 'ok', detail: `${file} is created on the first start` };
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    return {
      name: 'handle secret',
      status: 'fail',
      detail: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`,
      fix: `run as the owner of ${file}`,
    };
  }
  if (data.length < SECRET_SIZE)
    return {
      name: 'handle secret',
      status: 'fail',
      detail: `${file} holds ${data.length} bytes, fewer than ${SECRET_SIZE}: file handles would be forgeable`,
      fix,
    };
  if (new Set(data).size < 8)
    return { name: 'handle secret', status: 'fail', detail: `${file} is not random (${new Set(data).size} distinct byte values)`, fix };
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077)
    return {
      name: 'handle secret',
      status: 'fail',
      detail: `${file} is readable by others (mode ${mode.toString(8)}): they could forge file handles`,
      fix: `chmod 600 ${file}`,
    };
  return { name: 'handle secret', status: 'ok', detail: `${file}: ${data.length} bytes, mode ${mode.toString(8)}` };
}

export async function checkS3(dir: string): Promise<Check[]> {
  const bucket = process.env.MIC_S3_BUCKET;
  if (!bucket) return [{ name: 'object store', status: 'ok', detail: `local (${path.join(dir, 'objects')}); set MIC_S3_BUCKET for S3` }];
  const checks: Check[] = [];
  const creds =
    !!(process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY) ||
    !!process.env.AWS_PROFILE ||
    fs.existsSync(path.join(process.env.HOME ?? '', '.aws', 'credentials'));
  checks.push(
    creds
      ? { name: 'S3 credentials', status: 'ok', detail: 'found (environment or ~/.aws)' }
      : {
          name: 'S3 credentials',
          status: 'fail',
          detail: 'no AWS credentials in the environment or ~/.aws',
          fix: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)',
        },
  );
  const backend = openBackend(dir, { cacheBytes: 0, outboxDir: null });
  try {
    await checkBackend(backend);
    checks.push({ name: 'S3 bucket', status: 'ok', detail: `bucket ${bucket} is reachable and accepts conditional writes` });
  } catch (e) {
    const msg = (e as Error).message;
    const fix = /does not exist/.test(msg)
      ? `create the bucket (e.g. aws s3 mb s3://${bucket}) or fix MIC_S3_BUCKET`
      : /credentials|403|denied/i.test(msg)
        ? 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy'
        : /reach|ECONNREFUSED|ENOTFOUND/i.test(msg)
          ? 'check AWS_ENDPOINT_URL and that the S3 service is up'
          : /conditional/i.test(msg)
            ? 'use an S3 service with conditional writes (If-Match / If-None-Match)'
            : undefined;
    checks.push({ name: 'S3 bucket', status: 'fail', detail: msg, fix });
  } finally {
    await (backend as { close?: () => Promise<void> }).close?.();
  }
  return checks;
}

/** RPC NULL (procedure 0) of a program; resolves with an error text, or null when it answered. */
async function rpcNull(host: string, port: number, prog: number, vers: number): Promise<string | null> {
  let c: RpcClient | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const connecting = RpcClient.connect(host, port, { timeoutMs: 3000 });
    c = await Promise.race([
      connecting,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), 3000);
      }),
    ]);
    await c.call(prog, vers, 0);
    return null;
  } catch (e) {
    if (e instanceof RpcClosedError) return 'closed';
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  } finally {
    clearTimeout(timer);
    c?.close();
  }
}

async function pmapGetport(host: string, prog: number, vers: number): Promise<number | string> {
  let c: RpcClient | null = null;
  try {
    c = await RpcClient.connect(host, PMAP_PORT, { timeoutMs: 3000, auth: null });
    const r = await c.call(PMAP_PROGRAM, PMAP_V2, 3, new XdrWriter(16).u32(prog).u32(vers).u32(IPPROTO_TCP).u32(0));
    return r.u32();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  } finally {
    c?.close();
  }
}

export async function checkPorts(host: string, port: number, viaDaemon: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  const where = `${host}:${port}`;
  const fixDown = viaDaemon
    ? 'the daemon in daemon.json does not answer: restart it (mic serve)'
    : `start the server (mic serve --port ${port}) or give the right --host/--port`;
  for (const [name, prog, vers] of [
    ['NFS', NFS_PROGRAM, NFS_V3],
    ['MOUNT', MOUNT_PROGRAM, MOUNT_V3],
  ] as const) {
    const err = await rpcNull(host, port, prog, vers);
    checks.push(
      err === null
        ? { name: `${name} port`, status: 'ok', detail: `${where} answers ${name} v3` }
        : // the server accepted and closed at once: it runs, but this address is not in its --allow
          err === 'closed'
          ? {
              name: `${name} port`,
              status: 'warn',
              detail: `${where} accepted the connection and closed it: ${host} is not allowed to connect`,
              fix: `add this client's address to the server's --allow (MIC_ALLOW)`,
            }
          : {
              name: `${name} port`,
              status: 'fail',
              detail: `${where} is unreachable for ${name} v3 (${err})`,
              fix: err === 'ECONNREFUSED' || err === 'ETIMEDOUT' ? `${fixDown}; check firewalls between client and server` : fixDown,
            },
    );
  }
  const p = await pmapGetport(host, NFS_PROGRAM, NFS_V3);
  checks.push(
    typeof p === 'number' && p > 0
      ? {
          name: 'portmapper',
          status: p === port ? 'ok' : 'warn',
          detail: `${host}:111 maps NFS v3 to port ${p}`,
          fix: p === port ? undefined : `another NFS server is registered; mount with port=${port},mountport=${port}`,
        }
      : {
          name: 'portmapper',
          status: 'warn',
          detail: `no portmapper answer for NFS on ${host}:111 (${p})`,
          fix: `run mic serve --portmap to mount without port options; until then mount with port=${port},mountport=${port}`,
        },
  );
  return checks;
}

export function checkClient(platform = process.platform): Check {
  const candidates = platform === 'darwin' ? ['/sbin/mount_nfs'] : ['/sbin/mount.nfs', '/usr/sbin/mount.nfs'];
  const found = candidates.find((f) => fs.existsSync(f));
  if (found) return { name: 'NFS client', status: 'ok', detail: `${found} is installed` };
  return {
    name: 'NFS client',
    status: platform === 'darwin' ? 'fail' : 'warn',
    detail: `no ${candidates.join(' or ')}`,
    fix:
      platform === 'linux'
        ? 'install nfs-common (Debian/Ubuntu) or nfs-utils (Fedora/RHEL) to mount sessions here'
        : 'install an NFSv3 client',
  };
}
