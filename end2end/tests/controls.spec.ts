import { test, expect } from './fixtures';
import { counter, createJob, hydrated, job, login, phones } from './helpers';

test.beforeEach(async ({ page }) => {
  await login(page);
});

test('cancelling a running send from its page shows the final counts and who was sent', async ({ page }) => {
  const id = await createJob(page, phones(600, 20_000), 2);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect.poll(async () => counter(page, 'stat-sent'), { timeout: 30_000 }).toBeGreaterThan(10);

  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('alertdialog')).toContainText('Stop this send?');
  await page.getByRole('button', { name: 'Yes, cancel' }).click();
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'cancelled');

  const truth = await job(page.request, id);
  expect(truth.status).toBe('cancelled');
  const done = truth.progress.sent + truth.progress.failed;
  expect(done).toBeLessThan(600);
  await expect.poll(async () => counter(page, 'stat-sent')).toBe(truth.progress.sent);
  expect(await counter(page, 'stat-failed')).toBe(truth.progress.failed);
  expect(await counter(page, 'stat-remaining')).toBe(600 - done);
  await expect(page.locator('.log-line').last()).toContainText('Cancelled');
  // No more buttons that would act on a finished job.
  await expect(page.getByRole('button', { name: 'Cancel' })).toHaveCount(0);

  // The recipients panel lists exactly who was sent before the stop.
  await page.getByTestId('recipients-sent').click();
  const rows = page.getByTestId('recipients-table').locator('tbody tr');
  const sent = await (await page.request.get(`/api/jobs/${id}/items?status=sent&limit=5000`)).json();
  const expected = sent.items.map((i: { recipient: string }) => i.recipient);
  const firstPage = Math.min(expected.length, 100);
  await expect(rows).toHaveCount(firstPage);
  const shown = await rows.locator('td.mono').allTextContents();
  expect(shown).toEqual(expected.slice(0, firstPage));
});

test('a paused send resumes from the page and completes', async ({ page }) => {
  const id = await createJob(page, phones(200, 30_000), 2);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect.poll(async () => counter(page, 'stat-sent'), { timeout: 30_000 }).toBeGreaterThan(5);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'paused');
  const paused = await job(page.request, id);
  expect(paused.status).toBe('paused');
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  const truth = await job(page.request, id);
  expect(truth.progress.sent + truth.progress.failed).toBe(200);
});

test('a cancelled send offers its rest: exported, then sent as a new send once', async ({ page }) => {
  const id = await createJob(page, phones(600, 40_000), 2);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect.poll(async () => counter(page, 'stat-sent'), { timeout: 30_000 }).toBeGreaterThan(10);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Yes, cancel' }).click();
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'cancelled');

  const truth = await job(page.request, id);
  const rest = truth.progress.total - (truth.progress.sent + truth.progress.failed + (truth.progress.unknown ?? 0));
  expect(rest).toBeGreaterThan(0);
  const offer = page.getByTestId('send-rest');
  await expect(offer.getByRole('button')).toHaveText(`Send the rest (${rest})`);
  // Export not sent: exactly the recipients never tried.
  const href = await offer.getByTestId('export-not-sent').getAttribute('href');
  const csv = await (await page.request.get(href!)).text();
  expect(csv.trim().split('\n').length - 1).toBe(rest);

  await offer.getByRole('button').click();
  await expect(page).not.toHaveURL(new RegExp(`/jobs/${id}$`));
  await hydrated(page);
  const newId = page.url().split('/jobs/')[1];
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  const sent = await job(page.request, newId);
  expect(sent.total_numbers).toBe(rest);
  expect(sent.message).toBe(truth.message);
  // Asked again from the old page, it opens the same send instead of sending twice.
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await page.getByTestId('send-rest').getByRole('button').click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${newId}$`));
});
