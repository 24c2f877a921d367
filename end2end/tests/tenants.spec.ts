import { type Browser, type BrowserContext, type Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { createJob, csrfToken, hydrated, login, phones } from './helpers';

/** Runs the jobpulse CLI against the suite's database. */
function jobpulse(args: string[], extraEnv: Record<string, string> = {}) {
  return execFileSync(process.env.E2E_BINARY!, args, {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, JOBPULSE_DATABASE_URL: process.env.E2E_DATABASE_URL!, JOBPULSE_LOG: 'error', ...extraEnv },
    encoding: 'utf8',
  });
}

async function loggedIn(
  browser: Browser,
  watch: (context: BrowserContext) => void,
  workspace: string,
  username: string,
  password: string,
): Promise<Page> {
  const context = await browser.newContext();
  watch(context);
  const page = await context.newPage();
  await login(page, username, password, workspace);
  return page;
}

test.describe('tenants apart', () => {
  // Opening another tenant's job page is a 404 on purpose; the browser logs it.
  test.use({ allowedConsoleErrors: [/status of 404 \(Not Found\)/] });

  test('two tenants, side by side, each see only their own jobs, live', async ({ browser, watch }) => {
    jobpulse(['tenant', 'create', 'globex']);
    jobpulse(['user', 'create', '--tenant', 'globex', '--username', 'gina', '--role', 'admin'], {
      JOBPULSE_USER_PASSWORD: 'globex-password',
    });
    const demo = await loggedIn(browser, watch, 'demo', 'demo', 'demo-password');
    const gina = await loggedIn(browser, watch, 'globex', 'gina', 'globex-password');
    await expect(demo.locator('.conn')).toHaveAttribute('data-state', 'connected');
    await expect(gina.locator('.conn')).toHaveAttribute('data-state', 'connected');

    const demoJob = await createJob(demo, phones(80, 70_000), 4, 'demo tenant message');
    const ginaJob = await createJob(gina, phones(60, 80_000), 4, 'globex tenant message');
    for (const [page, own, other] of [
      [demo, demoJob, ginaJob],
      [gina, ginaJob, demoJob],
    ] as const) {
      const row = page.locator(`tr[data-job-id="${own}"]`);
      await expect(row).toBeVisible();
      await expect(row.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
      await expect(page.locator(`tr[data-job-id="${other}"]`)).toHaveCount(0);
      const foreign = await page.goto(`/jobs/${other}`);
      expect(foreign?.status()).toBe(404);
      await expect(page.locator('body')).not.toContainText('tenant message');
      expect((await page.request.get(`/api/jobs/${other}`)).status()).toBe(404);
      await page.goto('/');
    }
    await demo.context().close();
    await gina.context().close();
  });
});

test('an admin adds a viewer, who can watch but not start or cancel', async ({ browser, watch }) => {
  const admin = await loggedIn(browser, watch, 'demo', 'demo', 'demo-password');
  await admin.getByRole('link', { name: 'Settings' }).click();
  await expect(admin).toHaveURL(/\/settings$/);
  await hydrated(admin);
  const users = admin.locator('form', { has: admin.getByRole('button', { name: 'Add user' }) });
  await users.getByLabel('Username').fill('vic');
  await users.getByLabel('Password').fill('viewer-password');
  await users.getByLabel('Role').selectOption('viewer');
  await users.getByRole('button', { name: 'Add user' }).click();
  await expect(admin.locator('table.users')).toContainText('vic');

  // An API token, shown once.
  await admin.getByLabel('Token name').fill('e2e script');
  await admin.getByRole('button', { name: 'Create token' }).click();
  const token = (await admin.getByTestId('new-token').textContent())!;
  expect(token).toMatch(/^jp_[0-9a-f]{64}$/);
  const viaToken = await admin.request.get('/api/jobs', { headers: { authorization: `Bearer ${token}` } });
  expect(viaToken.status()).toBe(200);

  const job = await createJob(admin, phones(400, 90_000), 2);
  const viewer = await loggedIn(browser, watch, 'demo', 'vic', 'viewer-password');
  await expect(viewer.getByRole('link', { name: 'New bulk send' })).toHaveCount(0);
  await viewer.goto(`/jobs/${job}`);
  await hydrated(viewer);
  await expect(viewer.locator('.conn')).toHaveAttribute('data-state', 'connected');
  await expect(viewer.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Pause', exact: true })).toHaveCount(0);
  // The server refuses anyway.
  const refused = await viewer.request.post(`/api/jobs/${job}/cancel`, { headers: { 'x-csrf-token': await csrfToken(viewer) } });
  expect(refused.status()).toBe(403);
  await viewer.goto('/bulk/new');
  await expect(viewer.locator('main')).toContainText('can watch jobs but not start them');
  await admin.context().close();
  await viewer.context().close();
});
