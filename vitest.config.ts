import { defineConfig } from 'vitest/config';

// Two projects:
//  - unit: everything except test/integration, files in parallel;
//  - integration: the real daemon driven by the Linux kernel NFS client (user-mode
//    Linux, one CPU per guest) and libnfs-utils. One file at a time (all files in
//    one forked worker: poolOptions.forks.singleFork; vitest 3's per-project form of
//    fileParallelism: false), and only after the unit project has finished
//    (sequence.groupOrder), so a UML guest never competes with other tests for the
//    two CI cores. Inside a file the tests use describe.sequential.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', '**/node_modules/**', 'dist/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          // per-test limits are set in each file (UML boots + real I/O)
          testTimeout: 300_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
