// Builds test/lib/fault-shim.c (an LD_PRELOAD library that fails chosen system calls when marker files appear
// in MIC_FAULT_DIR) into dir; returns the library's path.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './kernel.js';

export function buildFaultShim(dir: string): string {
  const shim = join(dir, 'fault-shim.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', shim, join(REPO_ROOT, 'test/lib/fault-shim.c'), '-ldl']);
  return shim;
}
