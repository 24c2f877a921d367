import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { counter, createJob, csrfToken, hydrated, job, login, phones } from './helpers';

test.beforeEach(async ({ page }) => {
  await login(page);
});

/** Creates an outside worker's job and returns its id and the worker's headers. */
async function externalJob(page: Page, total: number) {
  const created = await page.request.post('/api/jobs', {
    headers: { 'x-csrf-token': await csrfToken(page) },
    data: { kind: 'external', name: 'Nightly import', total, stages: ['load'] },
  });
  expect(created.status()).toBe(201);
  const { job, worker_token: worker } = await created.json();
  return { id: job.id as string, auth: { authorization: `Bearer ${worker}` } };
}

/** Reports `ok` done and `failed` failed items, keys from `from` on. */
async function report(page: Page, id: string, auth: Record<string, string>, from: number, ok: number, failed = 0) {
  const items = [
    ...Array.from({ length: ok }, (_, i) => ({ key: `row-${from + i}`, status: 'ok', data: {} })),
    ...Array.from({ length: failed }, (_, i) => ({ key: `row-${from + ok + i}`, status: 'failed', error: 'bad row' })),
  ];
  const response = await page.request.post(`/api/jobs/${id}/items`, { headers: auth, data: { items } });
  expect(response.status()).toBeLessThan(300);
}

test('the job page shows the pace: rate, time left, running time, the chart and the percentage in the title', async ({ page }) => {
  const { id, auth } = await externalJob(page, 400);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  // Before anything moved there is no rate and no estimate.
  await expect(page.getByTestId('pace-rate')).toHaveText('—');

  let done = 0;
  await expect
    .poll(
      async () => {
        await report(page, id, auth, done, 9, 1);
        done += 10;
        return page.getByTestId('pace-rate').textContent();
      },
      { timeout: 30_000, intervals: [300] },
    )
    .toMatch(/^[1-9][\d.,]*\/s$/);
  await expect(page.getByTestId('pace-eta')).toHaveText(/^\d+ (s|min)/);
  await expect(page.getByTestId('pace-elapsed')).toHaveText(/^\d+ (s|min)/);
  // Sent and failed seconds are drawn, and the chart says in words what it shows.
  await expect(page.locator('[data-testid=throughput-chart] rect.chart-sent').first()).toBeAttached();
  await expect(page.locator('[data-testid=throughput-chart] rect.chart-failed').first()).toBeAttached();
  await expect(page.getByTestId('throughput-chart')).toHaveAttribute('aria-label', /\d+ sent and \d+ failed in the last 120 s/);
  // A background tab shows how far the job is.
  const percentage = (await page.getByTestId('percentage').textContent())!.trim();
  await expect(page).toHaveTitle(new RegExp(`^\\d+\\.\\d %`));
  expect(await page.title()).toContain('Nightly import');
  expect(percentage).toMatch(/%$/);

  // Once it ends, the title is the job's name again and the estimate is gone.
  const complete = await page.request.post(`/api/jobs/${id}/complete`, { headers: auth });
  expect(complete.status()).toBeLessThan(300);
  await expect(page.locator('.badge').first()).toHaveAttribute('data-status', 'completed');
  await expect(page).toHaveTitle(/^Completed · Nightly import/);
  await expect(page.getByTestId('pace-eta')).toHaveText('—');
});

test('a running job that stops moving is flagged as stalled, and the flag goes when it moves again', async ({ page }) => {
  const { id, auth } = await externalJob(page, 100);
  await report(page, id, auth, 0, 5);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect.poll(async () => counter(page, 'stat-sent')).toBe(5);
  const stalled = page.getByTestId('stalled');
  // The worker went quiet: after 30 s without a move the page says so, in a status region.
  await expect(stalled).toContainText('Stalled: nothing moved for', { timeout: 60_000 });
  await expect(page.locator('[role=status]').filter({ has: stalled })).toHaveCount(1);
  await report(page, id, auth, 5, 1);
  await expect(stalled).toHaveCount(0);
});

test('failures are grouped by reason with counts from the server, retried by reason, and exported', async ({ page }) => {
  const list = phones(60, 80_000);
  const refused = list.filter((p) => p.endsWith('13')).length;
  const id = await createJob(page, list, 5);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect(page.locator('.page-head .badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  const groups = page.getByTestId('failure-group');
  await expect(groups).toHaveCount(1);
  await expect(groups.first()).toHaveAttribute('data-class', 'not_on_whatsapp');
  await expect(groups.first().getByTestId('failure-count')).toHaveText(String(refused));
  await expect(groups.first()).toContainText('WhatsApp');
  const api = await (await page.request.get(`/api/jobs/${id}/failures`)).json();
  expect(api).toEqual([expect.objectContaining({ class: 'not_on_whatsapp', count: refused })]);

  // Retrying that reason sends those again (the sandbox refuses them again): the page follows.
  const before = (await job(page.request, id)).last_seq;
  await groups.first().getByRole('button', { name: 'Retry only these' }).click();
  await expect.poll(async () => (await job(page.request, id)).last_seq, { timeout: 30_000 }).toBeGreaterThan(before + refused);
  await expect(page.locator('.page-head .badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  await expect(groups.first().getByTestId('failure-count')).toHaveText(String(refused));

  // The failed tab exports as CSV.
  await page.getByTestId('recipients-failed').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-recipients').click()]);
  const csv = await readFile((await download.path())!, 'utf8');
  const lines = csv.trim().split('\n');
  expect(lines[0]).toMatch(/^index,recipient,status,attempts,error,/);
  expect(lines.length).toBe(refused + 1);
  expect(lines.slice(1).every((line) => /^\d+,\+34\d+13,failed,2,/.test(line))).toBe(true);
});

test('a search that ends short of its target says so in amber instead of calling it done', async ({ page }) => {
  // One demo keyword has 100 to 250 posts: far fewer than 2,000.
  const created = await page.request.post('/api/campaigns', {
    headers: { 'x-csrf-token': await csrfToken(page) },
    data: { name: 'Short one', platform: 'Demo', keywords: ['axum'], target_results: 2000, source: { kind: 'sandbox' } },
  });
  expect(created.status(), await created.text()).toBe(202);
  const { campaignId, jobId } = await created.json();
  await page.goto(`/campaigns/${campaignId}`);
  await hydrated(page);
  const badge = page.locator('.page-head .badge');
  await expect(badge).toHaveAttribute('data-short', 'true', { timeout: 90_000 });
  await expect(badge).toHaveAttribute('data-status', 'completed');
  const results = await counter(page, 'campaign-total');
  expect(results).toBeLessThan(2000);
  await expect(badge).toHaveText(`Short of target — ${results} / 2,000`);
  await expect(badge).toHaveClass(/badge-short/);
  // The list and the job page say the same.
  await page.goto('/campaigns');
  await expect(page.locator(`tr[data-campaign-id="${campaignId}"] .badge`)).toHaveAttribute('data-short', 'true');
  await page.goto(`/jobs/${jobId}`);
  await expect(page.locator('.page-head .badge')).toHaveText(`Short of target — ${results} / 2,000`);
});

test('a person who asks is notified when the job ends, and screen readers hear the milestones and the end', async ({ page }) => {
  // The browser's notifications, recorded instead of shown.
  await page.addInitScript(() => {
    const shown: { title: string; body?: string }[] = [];
    (window as any).__shown = shown;
    class RecordedNotification {
      static permission = 'default';
      static requestPermission() {
        RecordedNotification.permission = 'granted';
        return Promise.resolve('granted');
      }
      constructor(title: string, options?: { body?: string }) {
        shown.push({ title, body: options?.body });
      }
    }
    (window as any).Notification = RecordedNotification;
  });
  const { id, auth } = await externalJob(page, 8);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await page.getByTestId('notify-me').click();
  await expect(page.getByTestId('notify-on')).toHaveText('You will be notified when it ends.');
  const announcement = page.getByTestId('job-announcement');
  await expect(announcement).toHaveAttribute('role', 'status');
  await report(page, id, auth, 0, 4);
  await expect(announcement).toHaveText('50 % done');
  await report(page, id, auth, 4, 3, 1);
  const complete = await page.request.post(`/api/jobs/${id}/complete`, { headers: auth });
  expect(complete.status()).toBeLessThan(300);
  await expect(announcement).toHaveText('Completed: 7 done, 1 failed');
  await expect(page).toHaveTitle(/^Completed · Nightly import/);
  const shown = await page.evaluate(() => (window as any).__shown);
  expect(shown).toEqual([{ title: expect.stringMatching(/^Nightly import [0-9a-f]{8}$/), body: 'Completed: 7 done, 1 failed' }]);
  await expect(page.getByTestId('notify-me')).toHaveCount(0);
});

test('on a phone the navigation folds behind a menu button', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 780 });
  await page.goto('/');
  await hydrated(page);
  const menu = page.getByTestId('menu-button');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(menu).toBeVisible();
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(nav).toBeHidden();
  await expect(page.locator('.conn')).toBeVisible();
  await menu.click();
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(nav).toBeVisible();
  // The whole role badge fits on the screen.
  const badge = await page.locator('.user-role').boundingBox();
  expect(badge!.x + badge!.width).toBeLessThanOrEqual(360);
  await nav.getByRole('link', { name: 'Campaigns', exact: true }).click();
  await expect(page).toHaveURL(/\/campaigns$/);
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(nav).toBeHidden();
  // Wide screens have no menu button: the links are in the bar.
  await page.setViewportSize({ width: 1280, height: 900 });
  await expect(menu).toBeHidden();
  await expect(nav).toBeVisible();
});

test.describe('with the server out of reach', () => {
  test.use({ expectLive: false, allowedConsoleErrors: [/Failed to load resource|ERR_FAILED|net::/] });

  test('after a few failed polls the page says Offline, dims its figures with their age and holds the buttons', async ({ page }) => {
    // One device at the suite's 60 ms a message: minutes of work, so it runs throughout.
    const id = await createJob(page, phones(3_000, 70_000), 1);
    // The live channel is blocked, so the page follows by polling; then the polls fail too.
    await page.routeWebSocket(/\/api\/ws/, (ws) => ws.close({ code: 1011, reason: 'blocked by proxy' }));
    await page.goto(`/jobs/${id}`);
    await hydrated(page);
    const indicator = page.locator('.conn');
    await expect(indicator).toHaveAttribute('data-state', 'polling', { timeout: 30_000 });
    await page.route(/\/api\/jobs\/[^/]+\/events/, (route) => route.abort('failed'));
    await expect(indicator).toHaveAttribute('data-state', 'offline', { timeout: 30_000 });
    await expect(page.getByTestId('stale-note')).toHaveText(/^Last update \d+ s ago: these figures may be behind\.$/);
    await expect(page.locator('.hero')).toHaveClass(/stale/);
    await expect(page.getByTestId('controls-offline')).toHaveText('Offline: the buttons come back when the connection does.');
    for (const button of await page.getByTestId('job-controls').getByRole('button').all()) {
      await expect(button).toBeDisabled();
    }
    // The note counts up while nothing comes.
    const first = Number((await page.getByTestId('stale-note').textContent())!.match(/\d+/)![0]);
    await expect.poll(async () => Number((await page.getByTestId('stale-note').textContent())!.match(/\d+/)![0])).toBeGreaterThan(first);

    // The polls get through again: back to polling, figures current, buttons back.
    await page.unroute(/\/api\/jobs\/[^/]+\/events/);
    await expect(indicator).toHaveAttribute('data-state', 'polling', { timeout: 30_000 });
    await expect(page.getByTestId('stale-note')).toHaveCount(0);
    await expect(page.locator('.hero')).not.toHaveClass(/stale/);
    await expect(page.getByTestId('controls-offline')).toHaveCount(0);
    const cancelled = await page.request.post(`/api/jobs/${id}/cancel`, { headers: { 'x-csrf-token': await csrfToken(page) } });
    expect(cancelled.status()).toBe(200);
  });
});
