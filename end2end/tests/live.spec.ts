import { type Page } from '@playwright/test';
import { test, expect } from './fixtures';
import { counter, createJob, hydrated, job, login, phones } from './helpers';

/** Reads every log line's seq, sorted. */
async function logSeqs(page: Page): Promise<number[]> {
  const seqs = await page.locator('.log-line').evaluateAll((lines) => lines.map((l) => Number(l.getAttribute('data-seq'))));
  return seqs.sort((a, b) => a - b);
}

test.beforeEach(async ({ page }) => {
  await login(page);
});

test('going offline mid-job and coming back loses nothing and counts nothing twice', async ({ page, context }) => {
  const id = await createJob(page, phones(360, 40_000), 2);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  const indicator = page.locator('.conn');
  await expect(indicator).toHaveAttribute('data-state', 'connected');
  await expect.poll(async () => counter(page, 'stat-sent'), { timeout: 30_000 }).toBeGreaterThan(10);

  await context.setOffline(true);
  await expect(indicator).toHaveAttribute('data-state', 'offline');
  const shownWhenOffline = (await counter(page, 'stat-sent')) + (await counter(page, 'stat-failed'));
  // The job goes on meanwhile: wait (on the server's state) until it has clearly moved on.
  await expect
    .poll(async () => {
      const truth = await job(page.request, id);
      return truth.progress.sent + truth.progress.failed;
    }, { timeout: 30_000 })
    .toBeGreaterThan(shownWhenOffline + 40);

  await context.setOffline(false);
  await expect(indicator).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  const truth = await job(page.request, id);
  await expect.poll(async () => counter(page, 'stat-sent')).toBe(truth.progress.sent);
  expect(await counter(page, 'stat-failed')).toBe(truth.progress.failed);
  expect(await logSeqs(page)).toEqual(Array.from({ length: truth.last_seq }, (_, i) => i + 1));
});

test.describe('with the live channel blocked', () => {
  // The page must end on polling here: Live is what it cannot reach.
  test.use({ expectLive: false });

  test('with WebSocket upgrades blocked the page follows the job by polling', async ({ page }) => {
    // Every live connection is dropped the moment it opens, as a hostile proxy would.
    await page.routeWebSocket(/\/api\/ws/, (ws) => ws.close({ code: 1011, reason: 'blocked by proxy' }));
    const id = await createJob(page, phones(240, 50_000), 3);
    await page.goto(`/jobs/${id}`);
    await hydrated(page);
    const indicator = page.locator('.conn');
    await expect(indicator).toHaveAttribute('data-state', 'polling', { timeout: 30_000 });
    await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
    const truth = await job(page.request, id);
    await expect.poll(async () => counter(page, 'stat-sent')).toBe(truth.progress.sent);
    expect(await counter(page, 'stat-failed')).toBe(truth.progress.failed);
    expect(await logSeqs(page)).toEqual(Array.from({ length: truth.last_seq }, (_, i) => i + 1));
  });
});

test('older activity of a long job loads on demand', async ({ page }) => {
  const id = await createJob(page, phones(1_200, 60_000), 50);
  await expect.poll(async () => (await job(page.request, id)).status, { timeout: 60_000 }).toBe('completed');
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  const before = await logSeqs(page);
  expect(before.length).toBeLessThanOrEqual(500);
  const first = before[0];
  await page.getByTestId('log-load-older').click();
  await expect.poll(async () => (await logSeqs(page))[0]).toBeLessThan(first);
  const after = await logSeqs(page);
  // Contiguous: the older page joins the kept lines without a gap or a duplicate.
  expect(after).toEqual(Array.from({ length: after.length }, (_, i) => after[0] + i));
  expect(after[after.length - 1]).toBe(before[before.length - 1]);
});
