// The layers, checked by `npm run depcheck` (dependency-cruiser). Dependencies point down only:
//
//   src/cli/            the mic command: may use every layer below (through daemon/ or in-process)
//   src/daemon/         composition root: wires store, session, nfs, mount, api and rpc together
//   src/api/            HTTP API: maps session/ domain errors to statuses; no NFS, no RPC
//   src/nfs/ src/mount/ one thin file per procedure; the FileSystem/ExportTable contract (fs/file-system.ts)
//   src/session/        records, landing, merge, history; domain errors; no HTTP, no NFS wire
//   src/fs/             the NFS-facing filesystem over the copy-on-write core
//   src/core/           the copy-on-write core (inodes, journal, recovery, copy-up, sealing)
//   src/store/          blobs, trees, refs, backends, cache tiers
//   rpc/                ONC RPC (RFC 5531): knows nothing of NFS or of src/
//   util/               shared utilities (buffer pool, errno): imports no layer
// See docs/architecture.md.
const forbid = (name, comment, from, to, extra = {}) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, ...extra },
  to: { path: to },
});

module.exports = {
  forbidden: [
    forbid('util-is-a-leaf', 'util/ is shared by rpc/ and src/ and imports neither', '^util/', '^(rpc|src)/'),
    forbid('rpc-knows-no-src', 'rpc/ is ONC RPC only: it knows nothing of NFS, sessions or storage', '^rpc/', '^src/'),
    forbid('store-is-the-bottom', 'src/store/ knows no layer above it', '^src/store/', '^src/(core|fs|session|api|cli|daemon|nfs|mount)/'),
    forbid('store-no-rpc', 'src/store/ does not speak RPC', '^src/store/', '^rpc/'),
    forbid(
      'store-no-metrics',
      'src/store/ counts nothing itself: the daemon passes openBackend its instrumentation (BackendOptions.instrument)',
      '^src/store/',
      '^src/metrics/',
    ),
    {
      name: 'core-below-adapters',
      comment: 'the copy-on-write core may use store/ and util/, never the NFS adapter, sessions, the API, the CLI or RPC',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(rpc/|src/(fs|nfs|mount|session|api|cli|daemon)/)' },
    },
    forbid(
      'fs-below-session',
      'the filesystem adapter knows nothing of sessions, HTTP, the CLI, the daemon or procedure files',
      '^src/fs/',
      '^src/(session|api|cli|daemon|nfs|mount)/',
    ),
    {
      name: 'fs-no-rpc',
      comment: 'src/fs/ does not speak RPC (the buffer pool both use is in util/)',
      severity: 'error',
      from: { path: '^src/fs/' },
      to: { path: '^rpc/' },
    },
    forbid(
      'session-no-upper-layers',
      'session/ reports domain errors; api/ maps them to HTTP and cli/ to exit codes',
      '^src/session/',
      '^src/(api|cli|daemon|nfs|mount)/',
    ),
    forbid('session-no-rpc', 'session/ does not speak RPC', '^src/session/', '^rpc/'),
    forbid(
      'procedures-no-upper-layers',
      'NFS and MOUNT procedures see only the FileSystem/ExportTable contract and rpc/',
      '^src/(nfs|mount)/',
      '^src/(api|cli|daemon|session|store)/',
    ),
    forbid(
      'api-no-nfs',
      'the HTTP API uses the session service, not the NFS adapter, the daemon or the CLI',
      '^src/api/',
      '^(rpc/|src/(cli|daemon|nfs|mount)/)',
    ),
    forbid('daemon-no-cli', 'the daemon is started by the CLI, never the reverse', '^src/daemon/', '^src/cli/'),
    // The top layers, for every folder (also ones added later): only the CLI uses the CLI, only the CLI
    // and the daemon start a daemon or the HTTP API.
    {
      name: 'cli-is-the-top',
      comment: 'nothing imports the CLI',
      severity: 'error',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'daemon-from-cli-only',
      comment: 'only the CLI wires up a daemon',
      severity: 'error',
      from: { pathNot: '^src/(cli|daemon)/' },
      to: { path: '^src/daemon/' },
    },
    {
      name: 'api-from-top-only',
      comment: 'only the CLI and the daemon use the HTTP layer',
      severity: 'error',
      from: { pathNot: '^src/(cli|daemon|api)/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'no-circular',
      comment: 'modules import each other only one way',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-imports',
      comment: 'production code never imports test code',
      severity: 'error',
      from: { path: '^(rpc|util|src)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(rpc|util|src)/',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
