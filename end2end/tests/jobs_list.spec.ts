import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';
import { csrfToken, hydrated, login, phones } from './helpers';

test.beforeEach(async ({ page }) => {
  await login(page);
});

/** Creates an outside worker's job (it waits for its worker, so it stays pending). */
async function externalJob(page: Page, name: string): Promise<string> {
  const created = await page.request.post('/api/jobs', {
    headers: { 'x-csrf-token': await csrfToken(page) },
    data: { kind: 'external', name, total: 10, stages: ['load'] },
  });
  expect(created.status()).toBe(201);
  return (await created.json()).job.id;
}

test('the jobs list finds jobs by text, counts them per status, and cancels all it found after asking', async ({ page }) => {
  const unique = `import-${Date.now()}`;
  const ids = [];
  for (let n = 0; n < 3; n++) ids.push(await externalJob(page, `Nightly ${unique} ${n}`));

  await page.getByRole('search').getByLabel('Search').fill(unique);
  await page.getByRole('search').getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${unique}`));
  await hydrated(page);
  await expect(page.locator('tr[data-job-id]')).toHaveCount(3);
  for (const id of ids) await expect(page.locator(`tr[data-job-id="${id}"]`)).toContainText(`Nightly ${unique}`);
  await expect(page.locator('.count-chip[data-status=all]')).toContainText('3');
  await expect(page.locator('.count-chip[data-status=pending]')).toContainText('3');

  // One action for all three, confirmed with the count; the question takes the focus.
  await page.locator('#bulk-action').selectOption('cancel');
  await page.getByTestId('bulk-apply').click();
  const question = page.getByRole('alertdialog');
  await expect(question).toContainText('Cancel: 3 jobs matching these filters?');
  await expect(page.getByTestId('bulk-confirm')).toBeFocused();
  await page.getByTestId('bulk-confirm').click();
  await expect(page.getByTestId('bulk-result')).toContainText('3 changed.');
  await expect(page.locator('.count-chip[data-status=cancelled]')).toContainText('3');
  for (const id of ids) await expect(page.locator(`tr[data-job-id="${id}"] .badge`)).toContainText('Cancelled');

  // Asked again, nothing fits: each job is left as it was, with the reason.
  await page.getByTestId('bulk-apply').click();
  await page.getByTestId('bulk-confirm').click();
  await expect(page.getByTestId('bulk-result')).toContainText('0 changed.');
  await expect(page.getByTestId('bulk-result')).toContainText('3 left as they were:');

  // Status chips narrow the list and keep the text.
  await page.locator('.count-chip[data-status=pending]').click();
  await expect(page).toHaveURL(/status=pending/);
  await expect(page).toHaveURL(new RegExp(`q=${unique}`));
  await expect(page.getByText('No jobs match these filters.')).toBeVisible();
  await page.getByRole('link', { name: 'Clear filters' }).first().click();
  await expect(page).toHaveURL(/\/$/);
});

test('a send gets a name and tags on the form, and the list shows and finds them', async ({ page }) => {
  const tag = `tag-${Date.now()}`;
  await page.goto('/bulk/new');
  await hydrated(page);
  await page.getByLabel('Message').fill('Recordatorio de la cita');
  await page.locator('#recipients').fill(phones(3, 500).join('\n'));
  await page.getByLabel('Name (optional)').fill('Appointment reminder');
  await page.getByLabel('Tags (optional)').fill(`${tag}, clinic, ${tag.toUpperCase()}`);
  await page.getByRole('button', { name: 'Start sending' }).click();
  await expect(page).toHaveURL(/\/jobs\//);

  await page.goto(`/?q=${tag}`);
  await hydrated(page);
  const row = page.locator('tr[data-job-id]');
  await expect(row).toHaveCount(1);
  await expect(row.locator('.job-name')).toHaveText('Appointment reminder');
  await expect(row.locator('.tag')).toHaveText([tag, 'clinic']);
});

test.describe('in Spanish', () => {
  test.use({ locale: 'es-ES' });

  test('filters, counts and the bulk question read in Spanish', async ({ page }) => {
    const unique = `es-${Date.now()}`;
    await externalJob(page, `Importación ${unique}`);
    await page.goto(`/?q=${unique}`);
    await hydrated(page);
    await expect(page.getByRole('search').getByRole('button', { name: 'Filtrar' })).toBeVisible();
    await expect(page.locator('.count-chip[data-status=all]')).toContainText('Todos');
    await page.getByTestId('bulk-apply').click();
    await expect(page.getByRole('alertdialog')).toContainText('Pausar: ¿el único trabajo que cumple estos filtros?');
    await page.getByTestId('bulk-confirm').click();
    // An outside worker moves its own job: pausing it is refused, and the reason says so.
    await expect(page.getByTestId('bulk-result')).toContainText('1 quedó como estaba:');
  });
});

test('"Where did this number go?" finds a number in every send, with its outcome and error', async ({ page }) => {
  const list = phones(4, 7000 + (Date.now() % 1000) * 10);
  const sent = list[0];
  const refused = list.find((p) => p.endsWith('13'))!;
  const response = await page.request.post('/api/messages/send-bulk', {
    headers: { 'x-csrf-token': await csrfToken(page) },
    data: { message: 'Aviso de entrega', phones: list, devices_limit: 2, name: 'Delivery notice' },
  });
  expect(response.status()).toBe(202);
  const id = (await response.json()).job.id;
  await expect.poll(async () => (await (await page.request.get(`/api/jobs/${id}`)).json()).status, { timeout: 30_000 }).toBe('completed');

  await page.getByRole('link', { name: 'Where did a number go?' }).click();
  await expect(page).toHaveURL(/\/recipients$/);
  await hydrated(page);
  // Typed as people type numbers, with spaces.
  await page.getByLabel('Phone number').fill(`${sent.slice(0, 3)} ${sent.slice(3, 6)} ${sent.slice(6)}`);
  await page.getByRole('button', { name: 'Find' }).click();
  await expect(page.getByTestId('recipient-found')).toContainText(sent);
  const row = page.locator(`tr[data-job-id="${id}"]`);
  await expect(row).toContainText('Delivery notice');
  await expect(row.locator('.item-status')).toHaveText('Sent');

  await page.goto(`/recipients?phone=${encodeURIComponent(refused)}`);
  await hydrated(page);
  const failed = page.locator(`tr[data-job-id="${id}"]`);
  await expect(failed.locator('.item-status')).toHaveText('Failed');
  await expect(failed.locator('td').nth(4)).not.toBeEmpty();

  await page.goto('/recipients?phone=hello');
  await hydrated(page);
  await expect(page.getByTestId('recipient-invalid')).toContainText('Cannot look up “hello”: not a phone number.');
});
