import { test, expect } from './fixtures';
import { hydrated, job, login, phones } from './helpers';

test.beforeEach(async ({ page }) => {
  await login(page);
});

async function jobCount(page: import('@playwright/test').Page): Promise<number> {
  return (await (await page.request.get('/api/jobs')).json()).length;
}

test('every mistake of the send form shows under its field at once, and focus goes to the first', async ({ page }) => {
  await page.goto('/bulk/new');
  await hydrated(page);
  const before = await jobCount(page);
  await page.getByLabel('Recipients').fill('+34600000001\nnot a number');
  await page.getByLabel('Sender devices').fill('0');
  // Checked as it is typed, before any submit.
  await expect(page.locator('#devices_limit-error')).toHaveText('Type a whole number from 1 to 50 (you typed “0”).');
  await expect(page.getByTestId('fix-fields')).toHaveCount(0);
  await page.getByRole('button', { name: 'Start sending' }).click();

  await expect(page.locator('#message-error')).toHaveText('Write the message to send.');
  await expect(page.locator('#recipients-error')).toHaveText('1 of 2 entries cannot be sent to (listed below): fix or remove them.');
  await expect(page.locator('#devices_limit-error')).toHaveText('Type a whole number from 1 to 50 (you typed “0”).');
  await expect(page.getByTestId('fix-fields')).toHaveText('Fix the 3 fields marked above; nothing was created.');
  await expect(page.getByTestId('line-errors')).toContainText('Line 2');
  // The first field to fix has focus, and says why to a screen reader.
  const message = page.getByLabel('Message');
  await expect(message).toBeFocused();
  await expect(message).toHaveAttribute('aria-invalid', 'true');
  await expect(message).toHaveAccessibleDescription(/Write the message to send\./);
  expect(await jobCount(page)).toBe(before);

  // Fixing a field clears its own mark, not the others'.
  await message.fill('Hola');
  await expect(page.locator('#message-error')).toBeHidden();
  await expect(message).not.toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#devices_limit-error')).toBeVisible();
});

test('a pasted list is counted as it is written: repeats removed, then sent to the valid only', async ({ page }) => {
  await page.goto('/bulk/new');
  await hydrated(page);
  await page.getByLabel('Message').fill('Hola');
  const list = ['+34600000101', '+34600000102', '+34 600 000 101', 'call me', '+34600000103', '+34600000102'];
  await page.getByLabel('Recipients').fill(list.join('\n'));
  const check = page.getByTestId('recipients-check');
  await expect(check.getByTestId('check-valid')).toHaveText('3 valid');
  await expect(check.getByTestId('check-invalid')).toHaveText('1 not valid');
  await expect(check.getByTestId('check-repeated')).toHaveText('2 repeated');

  await check.getByRole('button', { name: 'Remove repeats' }).click();
  await expect(page.getByLabel('Recipients')).toHaveValue('+34600000101\n+34600000102\ncall me\n+34600000103');
  await expect(page.getByTestId('recipient-count')).toHaveText('4 recipients');
  await expect(check.getByTestId('check-repeated')).toHaveCount(0);
  await expect(check.getByTestId('check-invalid')).toHaveText('1 not valid');

  await check.getByRole('button', { name: 'Send to the 3 valid only' }).click();
  await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop()!;
  const started = await job(page.request, id);
  expect(started.total_numbers).toBe(3);
});

/** Puts `text` in a field as a paste does: one change, one `input` event (typing or `fill`
 * into a 100,000-line textarea takes Chromium minutes). */
async function paste(page: import('@playwright/test').Page, selector: string, text: string) {
  await page.locator(selector).evaluate((el: HTMLTextAreaElement, value: string) => {
    el.value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, text);
}

test('past 100,000 recipients the counter turns red and says so before sending', async ({ page }) => {
  await page.goto('/bulk/new');
  await hydrated(page);
  const count = page.getByTestId('recipient-count');
  const list = phones(100_000);
  await paste(page, '#recipients', list.join('\n'));
  await expect(count).toHaveText('100,000 recipients');
  await expect(count).not.toHaveClass(/hint-over/);
  await expect(page.locator('#recipients-error')).toBeHidden();
  await paste(page, '#recipients', [...list, '+34699999999'].join('\n'));
  await expect(count).toHaveText('100,001 recipients');
  await expect(count).toHaveClass(/hint-over/);
  await expect(page.locator('#recipients-error')).toHaveText(
    '100,001 numbers: one send takes at most 100,000. Split the list into several sends.',
  );
  // Back under the limit, the mark goes.
  await paste(page, '#recipients', list.slice(0, 10).join('\n'));
  await expect(count).toHaveText('10 recipients');
  await expect(page.locator('#recipients-error')).toBeHidden();
  await expect(page.getByTestId('check-valid')).toHaveText('10 valid');
});

test('every mistake of the campaign form shows under its field, in its own words', async ({ page }) => {
  await page.goto('/campaigns/new');
  await hydrated(page);
  const before = (await (await page.request.get('/api/campaigns')).json()).length;
  await page.getByLabel('Platform').fill('Web');
  await page.getByLabel('Results wanted').fill('0');
  await page.getByLabel('A website').check();
  await page.getByLabel('Search URL').fill('https://example.com/search?q={keyword}');
  await page.getByLabel('Result (CSS selector)').fill('div.result[');
  await page.getByRole('button', { name: 'Start campaign' }).click();

  await expect(page.locator('#name-error')).toHaveText('Give the campaign a name.');
  await expect(page.locator('#keywords-error')).toHaveText('Give at least one keyword to search for.');
  await expect(page.locator('#target_results-error')).toHaveText('Type a whole number from 1 to 100,000 (you typed “0”).');
  await expect(page.locator('#item_selector-error')).toContainText('“div.result[” is not a CSS selector');
  await expect(page.locator('#link_selector-error')).toHaveText('Fill this in.');
  // No field is named the way the API spells it.
  await expect(page.getByTestId('campaign-form')).not.toContainText('item_selector');
  await expect(page.getByLabel('Name', { exact: true })).toBeFocused();
  expect((await (await page.request.get('/api/campaigns')).json()).length).toBe(before);
});
