import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';
import { createJob, csrfToken, hydrated, job, login, phones } from './helpers';

test.beforeEach(async ({ page }) => {
  await login(page);
});

/** Pauses or resumes a job through the REST API with the page's session. */
async function act(page: Page, id: string, action: 'pause' | 'resume') {
  const response = await page.request.post(`/api/jobs/${id}/${action}`, {
    headers: { 'x-csrf-token': await csrfToken(page) },
  });
  expect(response.status()).toBe(200);
}

/** The number a lane's cell shows. */
async function cell(page: Page, device: number, testId: string): Promise<number> {
  const text = await page.locator(`[data-testid=lane][data-device="${device}"]`).getByTestId(testId).textContent();
  return Number((text ?? '').replace(/[^0-9]/g, ''));
}

// The refused pause is a 409, which the browser logs as a failed load: expected here.
test.describe('one device paused', () => {
  test.use({ allowedConsoleErrors: [/status of 409 \(Conflict\)/] });

test('a send shows one row per device, pausing one gives its share to the others, and the rows add up', async ({ page }) => {
  const total = 300;
  const id = await createJob(page, phones(total, 50_000), 3);
  // Held while its devices are set: what device 2 had done is known exactly.
  await act(page, id, 'pause');
  await expect.poll(async () => (await job(page.request, id)).status, { timeout: 30_000 }).toBe('paused');
  await page.goto(`/jobs/${id}`);
  await hydrated(page);

  const lanes = page.getByTestId('lane');
  await expect(lanes).toHaveCount(3);
  await expect(lanes.first()).toContainText('Device 1');
  await expect(lanes.first()).toContainText("Server's provider");
  const lane2 = page.locator('[data-testid=lane][data-device="2"]');
  const before = await cell(page, 2, 'lane-sent');

  await lane2.getByRole('button', { name: 'Pause device 2' }).click();
  await expect(lane2).toHaveAttribute('data-state', 'paused');
  await expect(lane2.getByTestId('lane-state')).toHaveText('Paused');
  await expect(lane2.getByRole('button', { name: 'Resume device 2' })).toBeVisible();
  await page.getByRole('button', { name: 'Pause device 1' }).click();
  await expect(page.getByRole('button', { name: 'Resume device 1' })).toBeVisible();
  // Pausing the last device still sending would pause the job: refused, in words.
  await page.getByRole('button', { name: 'Pause device 3' }).click();
  await expect(page.getByTestId('lanes').getByRole('alert')).toContainText('Every other device of this send is paused');
  await page.getByRole('button', { name: 'Resume device 1' }).click();
  await expect(page.getByRole('button', { name: 'Pause device 1' })).toBeVisible();

  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(page.locator('.badge[data-status]')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  // The rows add up to the job, live and after a reload, and device 2 took nothing new.
  const truth = await job(page.request, id);
  const sum = async () => {
    let n = 0;
    for (const device of [1, 2, 3]) n += (await cell(page, device, 'lane-sent')) + (await cell(page, device, 'lane-failed'));
    return n;
  };
  await expect.poll(sum, { timeout: 10_000 }).toBe(total);
  expect(await cell(page, 2, 'lane-sent')).toBe(before);
  expect(truth.senders.find((l: { device_id: number }) => l.device_id === 2).sent).toBe(before);
  await page.reload();
  await hydrated(page);
  expect(await sum()).toBe(total);
  await expect(lane2.getByTestId('lane-state')).toHaveText('Paused');
  // Refused numbers say why on the device that tried them.
  const errors = await page.getByTestId('lane-error').allTextContents();
  expect(errors.some((e) => e.length > 3 && e !== '—')).toBe(true);
  // An ended send is not steered any more.
  await expect(page.getByTestId('lane-toggle')).toHaveCount(0);
});
});

test.describe('in Spanish', () => {
  test.use({ locale: 'es-ES' });

  test('the devices read in Spanish', async ({ page }) => {
    const id = await createJob(page, phones(20, 60_000), 2);
    await page.goto(`/jobs/${id}`);
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Dispositivos' })).toBeVisible();
    await expect(page.getByTestId('lane').first()).toContainText('Proveedor del servidor');
    await expect(page.getByRole('columnheader', { name: 'En curso' })).toBeVisible();
  });
});
