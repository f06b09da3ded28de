import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ARTIFACTS_DIRECTORY = join(repositoryRoot, 'test-artifacts', 'screenshots');

/** Debian's Chromium (never a downloaded browser), with the flags this closed network needs. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  try {
    return await chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (error) {
    throw new Error(
      `Chromium could not start from ${executablePath} (install Debian's chromium: apt-get install chromium): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** A page that records every console error and failed request, so a test can fail on any of them. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  problems: string[];
  screenshot(name: string): Promise<void>;
}

export async function openWatchedPage(browser: Browser, options: { javaScriptEnabled?: boolean } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true });
  // Shorter than the test timeout, so a stuck step fails with Playwright's message naming what it waited for.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // An error page's own status (e.g. 400) is logged by Chromium as a failed load; the test asserts
    // that status itself, so only failures of other resources count.
    const isDocumentStatus = message.text().startsWith('Failed to load resource') && message.location().url === page.url();
    if (!isDocumentStatus) problems.push(`console error on ${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
  mkdirSync(ARTIFACTS_DIRECTORY, { recursive: true });
  return {
    page,
    context,
    problems,
    async screenshot(name: string) {
      await page.screenshot({ path: join(ARTIFACTS_DIRECTORY, `${name}.png`), fullPage: true });
    },
  };
}
