/**
 * The browser of the browser tests: Debian's Chromium (/usr/bin/chromium, `.ci/run` installs it) driven by
 * playwright-core, headless (Playwright passes the flag), without the sandbox a root CI container cannot give it, and
 * without any background traffic (updates, sync, QUIC): the console talks to the twin on loopback and nothing else.
 * Screenshots go to test-results/screenshots/ (gitignored), one per page and width.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export const DESKTOP = { width: 1280, height: 900 } as const;
export const PHONE = { width: 375, height: 812 } as const;

export const launchBrowser = async (): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
};

/** What went wrong in a page that no assertion looks at directly: script errors, CSP refusals, dialogs (alert()). */
export interface PageWatch {
  readonly errors: string[];
  readonly cspViolations: string[];
  readonly dialogs: string[];
}

export const watchPage = (page: Page): PageWatch => {
  const watch: PageWatch = { errors: [], cspViolations: [], dialogs: [] };
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) watch.cspViolations.push(message.text());
  });
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return watch;
};

export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
};
