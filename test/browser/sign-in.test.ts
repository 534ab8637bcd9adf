/// <reference lib="dom" />
/**
 * The console's sign-in (AWS deployments), in Chromium: the authorization-code flow with PKCE against a stand-in of the
 * Cognito managed login that checks what Cognito checks — the client id, the registered redirect URI, S256 and that
 * the verifier hashes to the challenge, one use per code — and an API stand-in that, like the HTTP API's JWT
 * authorizer, lets only a current ID token through. The console must send the ID token as Bearer, trade the refresh
 * token when the API answers 401, sign out through /logout, and refuse a redirect that carries another sign-in's state.
 * The console itself is the real build, served as the twin serves it (ConsoleSite), with `auth` in /config.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.ts';
import { ConsoleSite } from '../../lib/local/console-site.ts';
import { DESKTOP, type PageWatch, launchBrowser, screenshot, watchPage } from './browser.ts';

const CLIENT_ID = 'console-client';
const USER = 'ana@example.com';

const b64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');
/** An ID token as the console reads it (header.payload.signature; the console never verifies: the authorizer does). */
const idToken = (n: number): string => `${b64url(JSON.stringify({ alg: 'none' }))}.${b64url(JSON.stringify({ email: USER, sub: 'u-1', n }))}.sig${n}`;

/** The managed login and the authorized API, on the console's own origin (its CSP allows 'self' only). */
class FakeCognito {
  origin = '';
  readonly codes = new Map<string, { challenge: string; redirectUri: string }>();
  readonly log: string[] = [];
  /** The one ID token the API accepts now, and the refresh token that trades for the next one. */
  validId = '';
  refreshToken = '';
  issued = 0;
  readonly bearers: string[] = [];

  issue() {
    this.issued += 1;
    this.validId = idToken(this.issued);
    return { id_token: this.validId, access_token: `access-${this.issued}`, expires_in: 3600, token_type: 'Bearer' };
  }
}

describe('the console signs in with the authorization-code flow and PKCE', () => {
  let server: Server;
  let dir: string;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  const idp = new FakeCognito();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-signin-'));
    const [, launched] = await Promise.all([buildConsole(dir), launchBrowser()]);
    browser = launched;
    let site: ConsoleSite | undefined;
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', idp.origin);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/oauth2/authorize') {
        const p = url.searchParams;
        idp.log.push('authorize');
        const redirectUri = p.get('redirect_uri') ?? '';
        if (p.get('client_id') !== CLIENT_ID || redirectUri !== `${idp.origin}/` || p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge') || p.get('scope') !== 'openid email profile') {
          return send(400, { error: 'invalid_request' });
        }
        const code = randomBytes(8).toString('hex');
        idp.codes.set(code, { challenge: p.get('code_challenge') as string, redirectUri });
        res.writeHead(302, { location: `${redirectUri}?code=${code}&state=${encodeURIComponent(p.get('state') ?? '')}` });
        return res.end();
      }
      if (url.pathname === '/oauth2/token' && req.method === 'POST') {
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          const form = new URLSearchParams(text);
          idp.log.push(`token:${form.get('grant_type')}`);
          if (form.get('client_id') !== CLIENT_ID) return send(400, { error: 'invalid_client' });
          if (form.get('grant_type') === 'authorization_code') {
            const pending = idp.codes.get(form.get('code') ?? '');
            idp.codes.delete(form.get('code') ?? ''); // one use
            const verifier = form.get('code_verifier') ?? '';
            if (!pending || pending.redirectUri !== form.get('redirect_uri') || b64url(createHash('sha256').update(verifier).digest()) !== pending.challenge) return send(400, { error: 'invalid_grant' });
            idp.refreshToken = randomBytes(8).toString('hex');
            return send(200, { ...idp.issue(), refresh_token: idp.refreshToken });
          }
          if (form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === idp.refreshToken) return send(200, idp.issue());
          return send(400, { error: 'invalid_grant' });
        });
        return;
      }
      if (url.pathname === '/logout') {
        idp.log.push('logout');
        if (url.searchParams.get('client_id') !== CLIENT_ID || url.searchParams.get('logout_uri') !== `${idp.origin}/`) return send(400, { error: 'invalid_request' });
        res.writeHead(302, { location: url.searchParams.get('logout_uri') as string });
        return res.end();
      }
      if (url.pathname.startsWith('/console/')) {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        idp.bearers.push(bearer);
        if (bearer !== idp.validId) return send(401, { message: 'Unauthorized' });
        if (url.pathname === '/console/incidents') return send(200, { items: [], cursor: null });
        return send(404, { message: 'Not Found' });
      }
      if (!site?.serve(req, res, url.pathname)) send(404, { message: 'Not Found' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    idp.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    site = new ConsoleSite(dir, { apiBase: '', auth: { domain: idp.origin, clientId: CLIENT_ID, scopes: ['openid', 'email', 'profile'] } });
    page = await browser.newPage({ viewport: DESKTOP });
    watch = watchPage(page);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('goes to the managed login, comes back to the page it left, and calls the API with the ID token', async () => {
    await page.goto(`${idp.origin}/#/demo`);
    await page.getByRole('heading', { name: /^Demo/ }).waitFor();
    expect(idp.log.slice(0, 2)).toEqual(['authorize', 'token:authorization_code']);
    expect(new URL(page.url()).search).toBe(''); // the code is gone from the address bar
    expect(new URL(page.url()).hash).toBe('#/demo');
    await page.getByText(USER).waitFor();
    await expect.poll(() => idp.bearers.filter((b) => b === idToken(1)).length).toBeGreaterThan(0);
    expect(idp.bearers.every((b) => b === idToken(1))).toBe(true);
    await screenshot(page, 'signed-in-1280');
  });

  it('trades the refresh token for a new ID token when the API answers 401, and retries', async () => {
    await page.goto(`${idp.origin}/#/incidents`);
    await page.getByText('No incidents').waitFor();
    // Act: the ID token stops being accepted (expired, as far as the authorizer is concerned)
    idp.validId = 'none';
    const before = idp.log.length;
    // Assess: the next poll is refused, the console refreshes and the retry carries the new token
    await expect.poll(() => idp.log.slice(before), { timeout: 15_000 }).toContain('token:refresh_token');
    await expect.poll(() => idp.bearers.at(-1), { timeout: 15_000 }).toBe(idToken(2));
    expect(idp.log.slice(before)).not.toContain('authorize');
  });

  it('signs out through /logout and signs in again', async () => {
    const before = idp.log.length;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('No incidents').waitFor();
    expect(idp.log.slice(before)).toEqual(['logout', 'authorize', 'token:authorization_code']);
    await expect.poll(() => idp.bearers.at(-1)).toBe(idToken(3));
  });

  it('refuses a redirect that carries another sign-in\'s state, trading no code', async () => {
    const before = idp.log.length;
    await page.goto(`${idp.origin}/?code=stolen&state=forged#/incidents`);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('does not belong to a sign-in started here');
    expect(idp.log.slice(before)).not.toContain('token:authorization_code');
    expect(watch.errors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
  });
});
