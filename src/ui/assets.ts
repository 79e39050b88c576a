// The browser side's files, bundled at build time by scripts/build-ui.mjs into dist/ui-assets (app.js,
// app.css, chunks loaded on first use, and their .gz): read once at start, answered from memory, gzip when the browser takes it.
// Nothing is fetched from elsewhere: the page works on a machine without internet.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type http from 'node:http';

export interface Asset {
  type: string;
  data: Buffer;
  gz: Buffer;
  etag: string;
}

/** dist/ui-assets, from dist/src/ui (built) or src/ui (tests run the sources). */
export function assetsDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../ui-assets', '../../dist/ui-assets']) {
    const d = path.resolve(here, rel);
    if (existsSync(path.join(d, 'app.js'))) return d;
  }
  return null;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const dir = assetsDir();
  if (!dir) return out;
  for (const name of readdirSync(dir).filter((n) => /\.(js|css)$/.test(n))) {
    const data = readFileSync(path.join(dir, name));
    const gzFile = path.join(dir, name + '.gz');
    const gz = existsSync(gzFile) ? readFileSync(gzFile) : gzipSync(data, { level: 9 });
    out.set(name, { type: TYPES[path.extname(name)], data, gz, etag: `"${createHash('sha256').update(data).digest('hex').slice(0, 16)}"` });
  }
  return out;
}

export function sendAsset(req: http.IncomingMessage, res: http.ServerResponse, a: Asset, versioned: boolean): void {
  const headers: Record<string, string | number> = {
    'content-type': a.type,
    etag: a.etag,
    'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
    vary: 'accept-encoding',
  };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? a.gz : a.data;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Content-Security-Policy of every page: only our own script and style, no inline code, no framing. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function pageHeaders(): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The one HTML page of the app; the bundle renders every view from the URL. */
export function shellHtml(
  assets: Map<string, Asset>,
  auth: boolean,
  preload: string[] = [],
  modules: string[] = [],
  user?: string,
): string {
  const v = (n: string) => assets.get(n)?.etag.replace(/"/g, '') ?? '0';
  if (!assets.size) {
    return (
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mic-fs</title></head><body>' +
      '<p>The web UI is not built: run <code>npm run build</code>.</p></body></html>'
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>mic-fs</title>
<link rel="stylesheet" href="/assets/app.css?v=${v('app.css')}">
<script type="module" src="/assets/app.js?v=${v('app.js')}"></script>
${preload.map((u) => `<link rel="preload" as="fetch" crossorigin href="${escapeHtml(u)}">`).join('\n')}
${modules.map((u) => `<link rel="modulepreload" href="${escapeHtml(u)}">`).join('\n')}
</head><body${auth ? ' data-auth="token"' : ''}${user !== undefined ? ` data-user="${escapeHtml(user)}"` : ''}><div id="app" aria-live="polite"></div></body></html>
`;
}

export function loginHtml(assets: Map<string, Asset>, next: string, error: string | null): string {
  const v = assets.get('app.css')?.etag.replace(/"/g, '') ?? '0';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>mic-fs: sign in</title>
<link rel="stylesheet" href="/assets/app.css?v=${v}">
</head><body><main class="login">
<h1>mic-fs</h1>
<form method="post" action="/login">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label for="token">API or user token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<button type="submit">Sign in</button>
</form>
<p class="muted">The daemon's <code>--api-token</code> (<code>MIC_API_TOKEN</code>) acts with every right; a user's
token (<code>mic token create</code>, <code>mic_…</code>) acts with that user's rights.</p>
</main></body></html>
`;
}
