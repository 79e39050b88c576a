// Issue 8 on a real radosgw: a landing whose winning CAS is reported lost (the read-back ABA) lands once (item 20).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/session/catalog.js';
import { DirectHost } from '../../src/session/host.js';
import { SessionService } from '../../src/session/service.js';
import { importTree, initProject } from '../../src/session/project.js';
import { handleSecret } from '../../src/daemon/data-dir.js';
import { writeFiles } from '../session/helpers.js';
import { useCluster } from './cluster.js';
import { CountingS3, s3Options, tempDir } from './helpers.js';
import type { S3BackendOptions } from '../../src/store/s3-backend.js';

const PROJECT = 'acme/trust';

/**
 * radosgw as it is, except that once armed, a conditional PUT of a head ref that wins is reported lost,
 * after `between` has run: exactly what S3Backend.casRef returns when the answer to a winning PUT is lost
 * (or a 500) and another landing moves the head before the read-back (which then sees the other's ref).
 */
class AbaS3 extends CountingS3 {
  between: (() => Promise<void>) | null = null;
  constructor(o: S3BackendOptions) { super(o); }
  override async casRef(key: string, data: Buffer, expect: string | null): Promise<boolean> {
    const won = await super.casRef(key, data, expect);
    const hook = key.endsWith('/head') ? this.between : null;
    if (!won || !hook) return won;
    this.between = null;
    await hook();
    return false;
  }
}

function service(backend: CountingS3, dataDir: string): { svc: SessionService; host: DirectHost } {
  const catalog = new Catalog(backend);
  const host = new DirectHost(catalog, dataDir, handleSecret(dataDir));
  return { svc: new SessionService({ catalog, host, dataDir }), host };
}

describe.sequential('trust on radosgw', () => {
  const cluster = useCluster();
  let opts: S3BackendOptions;
  const hosts: DirectHost[] = [];

  beforeAll(async () => {
    opts = s3Options(cluster());
    const src = await tempDir();
    await writeFiles(src, { 'README.md': 'trust\n', 'a.txt': 'a\n' });
    const store = new Catalog(new CountingS3(opts)).store(PROJECT);
    const { tree, nextIno } = await importTree(store, src);
    await initProject(store, tree, nextIno, 'import');
  }, 120_000);

  afterAll(async () => { for (const h of hosts) await h.closeAll(); });

  it('item 20: a landing whose CAS won but was reported lost (ABA) lands once, not twice', async () => {
    const aba = new AbaS3(opts);
    const a = service(aba, await tempDir());
    const b = service(new CountingS3(opts), await tempDir());
    hosts.push(a.host, b.host);
    const sa = (await a.svc.start({ project: PROJECT, goal: 'lands once' })).session.session_id;
    const sb = (await b.svc.start({ project: PROJECT, goal: 'lands on top' })).session.session_id;
    await a.svc.files(sa, { files: [{ path: 'from-a.txt', change_type: 'added', content: 'a\n' }] });
    await b.svc.files(sb, { files: [{ path: 'from-b.txt', change_type: 'added', content: 'b\n' }] });
    aba.between = async () => { await b.svc.land(sb, { message: 'b on top of a' }); };

    const landed = await a.svc.land(sa, { message: 'a' });
    const log = (await a.svc.log(PROJECT, { limit: 10 })).heads;
    expect(log.map((h) => h.session)).toEqual([sb, sa, null]); // a once, under b
    expect(landed.head.hash).toBe(log[1]!.hash);
    expect((await a.svc.get(sa)).session).toMatchObject({ status: 'landed', landed_head: log[1]!.hash });
  }, 120_000);
});
