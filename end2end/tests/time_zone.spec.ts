import { test, expect } from './fixtures';
import { createJob, hydrated, job, login, phones } from './helpers';

/** `at` as a clock `offsetMinutes` east of UTC reads it: `2026-11-24 18:30`. */
function inOffset(at: string, offsetMinutes: number): string {
  const shifted = new Date(Date.parse(at) + offsetMinutes * 60_000);
  return shifted.toISOString().slice(0, 16).replace('T', ' ');
}

for (const [zone, offset] of [['America/Bogota', -300], ['Asia/Kolkata', 330]] as const) {
  test.describe(`a reader in ${zone}`, () => {
    test.use({ timezoneId: zone });

    test('sees times in their own zone, with UTC in the tooltip', async ({ page }) => {
      await login(page);
      const id = await createJob(page, phones(5, 7000), 1);
      await expect.poll(async () => (await job(page.request, id)).status, { timeout: 30_000 }).toBe('completed');
      const truth = await job(page.request, id);
      await page.goto(`/jobs/${id}`);
      await hydrated(page);
      const started = page.locator('.fact', { hasText: 'Started' }).locator('time');
      await expect(started).toHaveText(inOffset(truth.started_at, offset));
      await expect(started).toHaveAttribute('title', /UTC$/);
      expect(Date.parse((await started.getAttribute('datetime'))!)).toBe(Math.floor(Date.parse(truth.started_at) / 1000) * 1000);
      // The log's clock too.
      const first = page.locator('.log-line time').first();
      await expect(first).toHaveText(/^\d\d:\d\d:\d\d$/);
      const clock = inOffset(truth.started_at, offset).slice(11);
      await expect(page.locator('.log-line time', { hasText: clock }).first()).toBeVisible();
    });
  });
}
