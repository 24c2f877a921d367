import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';

/**
 * Every test fails on an uncaught page error, on a console error it did not declare, and on a
 * connection badge that is not Live when the test ends (unless it declares otherwise): a page
 * whose bundle never starts must not pass because its server-rendered HTML looked right.
 */
type Options = {
  /** Console errors this test causes on purpose (a 404 it opens, the network it cuts). */
  allowedConsoleErrors: RegExp[];
  /** Whether the badge must read Live at the end (false where the test blocks the socket). */
  expectLive: boolean;
};

type Fixtures = {
  /** What went wrong in any watched page; the test fails if anything did. */
  problems: string[];
  /** Watches the pages of a context the test opened itself (`browser.newContext()`). */
  watch: (context: BrowserContext) => void;
};

function watchPage(page: Page, problems: string[], allowed: RegExp[]) {
  page.on('pageerror', (error) => problems.push(`${page.url()}: page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (!allowed.some((pattern) => pattern.test(text))) {
      problems.push(`${page.url()}: console error: ${text}`);
    }
  });
}

async function badgesAreLive(context: BrowserContext) {
  for (const page of context.pages()) {
    if (page.isClosed() || (await page.locator('.conn').count()) === 0) continue;
    await expect(page.locator('.conn'), `${page.url()}: the connection badge reaches Live`).toHaveAttribute(
      'data-state',
      'connected',
    );
  }
}

export const test = base.extend<Options & Fixtures>({
  allowedConsoleErrors: [[], { option: true }],
  expectLive: [true, { option: true }],
  problems: async ({}, use) => {
    const problems: string[] = [];
    await use(problems);
    expect(problems, 'the pages ran without errors').toEqual([]);
  },
  watch: async ({ problems, allowedConsoleErrors, expectLive }, use) => {
    const watched: BrowserContext[] = [];
    await use((context) => {
      watched.push(context);
      context.on('page', (page) => watchPage(page, problems, allowedConsoleErrors));
    });
    if (expectLive) for (const context of watched) await badgesAreLive(context);
  },
  context: async ({ context, problems, allowedConsoleErrors }, use) => {
    context.on('page', (page) => watchPage(page, problems, allowedConsoleErrors));
    await use(context);
  },
  page: async ({ page, expectLive }, use) => {
    await use(page);
    if (expectLive) await badgesAreLive(page.context());
  },
});

export { expect };
