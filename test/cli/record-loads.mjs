// Loaded with NODE_OPTIONS=--import by test/cli/lazy-load.test.ts: appends every file the process
// loads to $MIC_TEST_LOADS (ES modules through a load hook, CommonJS from require's cache at exit).
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env.MIC_TEST_LOADS;
if (out) {
  const hook = `import { appendFileSync } from 'node:fs';
export async function load(url, ctx, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(out)}, url + '\\n');
  return next(url, ctx);
}`;
  register('data:text/javascript,' + encodeURIComponent(hook));
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () =>
    appendFileSync(
      out,
      Object.keys(cache)
        .map((f) => `cjs:${f}\n`)
        .join(''),
    ),
  );
}
