import { test, expect } from './fixtures';
import { phones } from './helpers';

// A page whose bundle did not load (or a browser without JavaScript) still works: forms post as
// plain forms and the server redirects.
test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false, expectLive: false });

  test('the bulk send form creates its job once and lands on the job page', async ({ page }) => {
    // The login form posts as a plain form and the server redirects.
    await page.context().clearCookies();
    await page.goto('/login');
    await page.getByLabel(/workspace/i).fill('demo');
    await page.getByLabel(/username/i).fill('demo');
    await page.getByLabel(/password/i).fill('demo-password');
    await page.locator('main button[type=submit]').click();
    await expect(page).toHaveURL(/\/$/);

    await page.goto('/bulk/new');
    const key = await page.locator('input[name=idempotency_key]').inputValue();
    expect(key, 'the server renders an idempotency key into the form').toMatch(/^form-[0-9a-f]{32}$/);
    await page.getByLabel('Message').fill('Sin JavaScript');
    await page.getByLabel('Recipients').fill(phones(20, 95_000).join('\n'));
    await page.getByRole('button', { name: 'Start sending' }).click();
    await expect(page).toHaveURL(/\/jobs\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;
    await expect(page.locator('main')).toContainText('Sin JavaScript');

    // Sending the same form again (a double click, a resubmit) is the same job.
    await page.goto('/bulk/new');
    const csrf = await page.locator('input[name=csrf_token]').first().inputValue();
    const again = await page.request.post('/api/start_bulk_send', {
      form: {
        message: 'Sin JavaScript',
        recipients: phones(20, 95_000).join('\n'),
        devices_limit: '5',
        idempotency_key: key,
        csrf_token: csrf,
      },
      headers: { accept: 'text/html' },
      maxRedirects: 0,
    });
    expect(again.status()).toBe(302);
    expect(again.headers()['location']).toBe(`/jobs/${id}`);
    const jobs = await (await page.request.get('/api/jobs?limit=500')).json();
    expect(jobs.filter((j: { message: string }) => j.message === 'Sin JavaScript')).toHaveLength(1);
  });
});
