/**
 * The console on the laptop twin: the built single-page app (console/build.ts) served from the API's own origin, for
 * GET/HEAD requests no API route takes (API routes keep priority, and an unknown path still gets API Gateway's 404
 * JSON, which the console reads as "this route is missing"). Only what the build wrote is served: `/` (index.html),
 * `/assets/<hashed file>` and `/config.json` — `{ apiBase: '', auth: null }`: the same origin, no sign-in (the twin
 * listens on loopback only, as for the other `jwt` routes).
 *
 * Headers as CloudFront serves the deployed console: index.html never cached (it names the current assets), hashed
 * assets cached for a year, and a Content-Security-Policy that allows the page's own origin only (no inline script or
 * style: the build writes none, uPlot and preact set styles through the CSSOM, which the policy does not restrict).
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

/** The console's Content-Security-Policy on the twin: its own origin only. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** What `/config.json` says on the twin. */
export const TWIN_CONSOLE_CONFIG = { apiBase: '', auth: null } as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

interface File {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** Serves a console build; `serve` answers true when it took the request. Files are read once (the build never changes while the twin runs). */
export class ConsoleSite {
  readonly #files = new Map<string, File>();

  /** `config`: what `/config.json` answers (the twin's by default; the browser tests point `auth` at a fake managed login). */
  constructor(dir: string, config: unknown = TWIN_CONSOLE_CONFIG) {
    const index = readFileSync(join(dir, 'index.html'));
    const page: File = { body: index, headers: { 'content-type': CONTENT_TYPES['.html'], 'cache-control': 'no-cache', 'content-security-policy': CONSOLE_CSP, ...SECURITY_HEADERS } };
    this.#files.set('/', page);
    this.#files.set('/index.html', page);
    this.#files.set('/config.json', { body: Buffer.from(JSON.stringify(config)), headers: { 'content-type': CONTENT_TYPES['.json'], 'cache-control': 'no-store', ...SECURITY_HEADERS } });
    for (const name of readdirSync(join(dir, 'assets'))) {
      const ext = /\.[a-z0-9]+$/.exec(name)?.[0] ?? '';
      this.#files.set(`/assets/${name}`, {
        body: readFileSync(join(dir, 'assets', name)),
        headers: { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable', ...SECURITY_HEADERS },
      });
    }
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const file = this.#files.get(path);
    if (!file) return false;
    res.writeHead(200, { ...file.headers, 'content-length': String(file.body.length) });
    res.end(req.method === 'HEAD' ? undefined : file.body);
    return true;
  }
}
