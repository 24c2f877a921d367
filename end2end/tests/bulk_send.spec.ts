import { test, expect } from './fixtures';
import { counter, createJob, hydrated, job, login, phones } from './helpers';

test.beforeEach(async ({ page }) => {
  await login(page);
});

test('a bulk send started from the form reaches 100 % live and matches the API', async ({ page }) => {
  await page.getByRole('link', { name: 'New bulk send' }).first().click();
  await expect(page).toHaveURL(/\/bulk\/new$/);
  const list = phones(200);
  await page.getByLabel('Message').fill('¡Hola! Your order is ready.');
  await page.getByLabel('Recipients').fill(list.join('\n'));
  await expect(page.getByTestId('recipient-count')).toHaveText('200 recipients');
  await page.getByRole('button', { name: 'Start sending' }).click();
  await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop()!;

  const bar = page.getByRole('progressbar', { name: 'Progress' });
  let last = -1;
  await expect
    .poll(
      async () => {
        const now = Number(await bar.getAttribute('aria-valuenow'));
        expect(now, 'the bar never goes backwards').toBeGreaterThanOrEqual(last);
        last = now;
        return now;
      },
      { timeout: 60_000, intervals: [50] },
    )
    .toBe(100);
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed');
  await expect(page.locator('.conn')).toHaveAttribute('data-state', 'connected');

  const truth = await job(page.request, id);
  expect(truth.status).toBe('completed');
  expect(truth.progress.sent + truth.progress.failed).toBe(200);
  expect(truth.progress.failed).toBe(list.filter((p) => p.endsWith('13')).length);
  expect(await counter(page, 'stat-sent')).toBe(truth.progress.sent);
  expect(await counter(page, 'stat-failed')).toBe(truth.progress.failed);
  expect(await counter(page, 'stat-total')).toBe(200);

  // Failed lines are marked, and the filter shows exactly the failed recipients.
  await page.getByTestId('log-filter-failures').click();
  const failedLines = page.locator('.log-line.log-failure');
  await expect(failedLines).toHaveCount(truth.progress.failed);
  const shown = (await failedLines.allTextContents()).map((t) => t.match(/\+\d+/)![0]).sort();
  const items = await (await page.request.get(`/api/jobs/${id}/items?status=failed`)).json();
  expect(shown).toEqual(items.items.map((i: { recipient: string }) => i.recipient).sort());
});

test('invalid recipients are listed by line and nothing is created', async ({ page }) => {
  await page.goto('/bulk/new');
  await hydrated(page);
  const before = await (await page.request.get('/api/jobs')).json();
  await page.getByLabel('Message').fill('Hola');
  await page.getByLabel('Recipients').fill('+34600000001\nnot a number\n+34600000001');
  await page.getByRole('button', { name: 'Start sending' }).click();
  const errors = page.getByTestId('line-errors');
  await expect(errors).toContainText('Line 2');
  await expect(errors).toContainText('Line 3');
  await expect(errors).toContainText('duplicate');
  await expect(page).toHaveURL(/\/bulk\/new$/);
  const after = await (await page.request.get('/api/jobs')).json();
  expect(after.length).toBe(before.length);
});

test('reloading mid-job shows the same numbers and continues without a gap', async ({ page }) => {
  const id = await createJob(page, phones(300, 1000), 3);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect.poll(async () => counter(page, 'stat-sent'), { timeout: 30_000 }).toBeGreaterThan(20);

  const done = async () => (await counter(page, 'stat-sent')) + (await counter(page, 'stat-failed'));
  const beforeReload = await done();
  const truth = await job(page.request, id);
  expect(truth.status, 'the job is still running when the page reloads').toBe('processing');
  await page.reload();
  // The server-rendered page already shows at least what the old page showed.
  expect(await done()).toBeGreaterThanOrEqual(beforeReload);
  await hydrated(page);

  let last = 0;
  await expect
    .poll(
      async () => {
        const now = await done();
        expect(now, 'counters never go backwards').toBeGreaterThanOrEqual(last);
        last = now;
        return now;
      },
      { timeout: 60_000, intervals: [50] },
    )
    .toBe(300);
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed');

  // Every event of the job is in the log exactly once: seq 1..N, no gap, no duplicate.
  const final = await job(page.request, id);
  const seqs = (await page.locator('.log-line').evaluateAll((lines) => lines.map((l) => Number(l.getAttribute('data-seq'))))).sort(
    (a, b) => a - b,
  );
  expect(seqs).toEqual(Array.from({ length: final.last_seq }, (_, i) => i + 1));
});

test('the dashboard shows new jobs and their progress live', async ({ page }) => {
  await expect(page.locator('.conn')).toHaveAttribute('data-state', 'connected');
  const id = await createJob(page, phones(120, 5000), 5);
  const row = page.locator(`tr[data-job-id="${id}"]`);
  await expect(row).toBeVisible();
  await expect(row.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  const truth = await job(page.request, id);
  await expect(row.getByTestId('row-sent')).toHaveText(String(truth.progress.sent));
  await expect(row.getByTestId('row-failed')).toHaveText(String(truth.progress.failed));
});

test('a 10,000-recipient send stays live to the last message', async ({ page }) => {
  test.setTimeout(180_000);
  const id = await createJob(page, phones(10_000, 100_000), 50);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 150_000 });
  const truth = await job(page.request, id);
  expect(truth.progress.sent + truth.progress.failed).toBe(10_000);
  await expect.poll(async () => counter(page, 'stat-sent')).toBe(truth.progress.sent);
  expect(await counter(page, 'stat-failed')).toBe(truth.progress.failed);
  await expect(page.getByRole('progressbar', { name: 'Progress' })).toHaveAttribute('aria-valuenow', '100');
  // The log keeps a bounded ring, and says how much older activity it does not show.
  expect(await page.locator('.log-line').count()).toBeLessThanOrEqual(500);
  await expect(page.locator('.log-note').first()).toContainText('older lines');
});
