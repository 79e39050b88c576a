#!/usr/bin/env node
// Bundles the web UI (ui/, browser TypeScript + CSS) with esbuild into dist/ui-assets/app.js and app.css,
// minified, with gzip copies, after a type check of ui/ (tsc -p ui/tsconfig.json). Prints the page weight.
// Run by `npm run build`; `--no-check` skips the type check.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'ui-assets');
if (!process.argv.includes('--no-check')) {
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'ui/tsconfig.json')], {
    stdio: 'inherit',
  });
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: path.join(root, 'ui/main.ts') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  splitting: true,
  chunkNames: '[name]-[hash]',
  target: ['chrome100', 'firefox100', 'safari15'],
  legalComments: 'linked',
  logLevel: 'warning',
});
const weight = {};
for (const f of readdirSync(out).filter((n) => /\.(js|css)$/.test(n))) {
  const data = readFileSync(path.join(out, f));
  const gz = gzipSync(data, { level: 9 });
  writeFileSync(path.join(out, f + '.gz'), gz);
  weight[f] = { bytes: data.length, gzip: gz.length };
}
const sum = (names) => names.reduce((a, n) => ({ bytes: a.bytes + weight[n].bytes, gzip: a.gzip + weight[n].gzip }), { bytes: 0, gzip: 0 });
const total = sum(Object.keys(weight));
// what a page loads first: app.js, app.css and the chunks app.js imports statically (the others load on first use)
const appJs = readFileSync(path.join(out, 'app.js'), 'utf8');
const initial = sum(
  Object.keys(weight).filter((n) => n === 'app.js' || n === 'app.css' || new RegExp(`from"\\./${n.replace('.', '\\.')}"`).test(appJs)),
);
writeFileSync(path.join(out, 'weight.json'), JSON.stringify({ files: weight, initial, total }, null, 2) + '\n');
console.error(
  `ui: ${(total.bytes / 1024).toFixed(1)} KiB (${(total.gzip / 1024).toFixed(1)} KiB gzip) in dist/ui-assets; first load ${(initial.bytes / 1024).toFixed(1)} KiB (${(initial.gzip / 1024).toFixed(1)} KiB gzip)`,
);
