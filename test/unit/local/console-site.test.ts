/**
 * The console on the twin's API origin (lib/local/console-site.ts behind startApi's fallback): API routes keep priority,
 * the console's files are served with their types, caching and the CSP, `/config.json` says same origin and no sign-in,
 * and any other path is still API Gateway's 404 JSON (which the console reads as a missing route).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../../console/build.ts';
import { type LocalApi, startApi } from '../../../lib/local/api-gateway.ts';
import { CONSOLE_CSP, ConsoleSite } from '../../../lib/local/console-site.ts';

describe('the console served by the twin', () => {
  let dir: string;
  let api: LocalApi;
  const invoked: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-site-'));
    await buildConsole(dir);
    const site = new ConsoleSite(dir);
    api = await startApi({
      port: 0,
      invoke: async (fn, event) => {
        invoked.push(`${fn} ${event.routeKey}`);
        return { statusCode: 200, body: JSON.stringify({ items: [], cursor: null }) };
      },
      fallback: (req, res, path) => site.serve(req, res, path),
    });
  });
  afterAll(async () => {
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with the CSP, never cached, loading only its hashed assets', async () => {
    const page = await fetch(`${api.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/^default-src 'self'; script-src 'self'; style-src 'self';/);
    const html = await page.text();
    const assets = readdirSync(join(dir, 'assets'));
    expect(assets).toEqual(expect.arrayContaining([expect.stringMatching(/^main-[A-Z0-9]+\.js$/), expect.stringMatching(/^main-[A-Z0-9]+\.css$/)]));
    for (const asset of assets) expect(html).toContain(`./assets/${asset}`);
    expect(html).not.toMatch(/<script>|<style|\sstyle=|\son\w+=/); // nothing inline: the CSP allows none
  });

  it('serves the hashed assets with their content type, cached for good', async () => {
    for (const asset of readdirSync(join(dir, 'assets'))) {
      const response = await fetch(`${api.url}/assets/${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await fetch(`${api.url}/assets/main.js`, { method: 'HEAD' })).status).toBe(404);
  });

  it('answers /config.json: the same origin, no sign-in', async () => {
    const response = await fetch(`${api.url}/config.json`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ apiBase: '', auth: null });
  });

  it('keeps API routes first, and answers any other path with the API 404', async () => {
    expect((await fetch(`${api.url}/console/incidents`)).status).toBe(200);
    expect(invoked).toEqual(['query-incidents GET /console/incidents']);
    for (const [method, path] of [['GET', '/nowhere'], ['GET', '/assets/'], ['GET', '/secret'], ['POST', '/'], ['GET', '/console/summary-of-nothing']]) {
      const response = await fetch(`${api.url}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await response.json()).toEqual({ message: 'Not Found' });
    }
  });
});
