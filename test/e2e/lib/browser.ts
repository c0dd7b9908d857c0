// browser.ts — headless Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by
// puppeteer-core (never a browser download), with a fresh profile, no background network, and
// optionally inside a network namespace (the admin API listens on the director's loopback).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface OpenBrowser { browser: Browser; page: Page; errors: string[]; close(): Promise<void> }

/** openBrowser starts Chromium (in namespace `netns` when given) and opens one page that records console errors. */
export async function openBrowser(netns?: string): Promise<OpenBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'wlvs-chromium-'));
  let executablePath = CHROMIUM;
  if (netns) {
    // puppeteer runs "executable ARGS...": a wrapper puts the browser into the namespace
    executablePath = join(dir, 'chromium-in-netns');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${netns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  }
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // DevTools over fds 3 and 4, not a TCP port: the browser's loopback may be another namespace's
    pipe: true,
    userDataDir: join(dir, 'profile'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${(e as Error).message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  return {
    browser, page, errors,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
