import { test, expect } from './fixtures';
import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import { createJob, hydrated, job, login, phones } from './helpers';

type Call = { headers: http.IncomingHttpHeaders; body: string };

/** A local receiver of hook calls: records each and answers 200. */
async function receiver(): Promise<{ url: string; calls: Call[]; close: () => Promise<void> }> {
  const calls: Call[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      calls.push({ headers: request.headers, body });
      response.writeHead(200);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/jobpulse-hook`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The hook's `v1` for a call, from the secret the page showed. */
function signed(secret: string, call: Call): boolean {
  const header = String(call.headers['x-jobpulse-signature'] ?? '');
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${call.body}`).digest('hex');
  return expected === match[2];
}

test.describe('outgoing webhooks', () => {
  // A refused form is a 422 answer, which the browser logs.
  test.use({ allowedConsoleErrors: [/status of 422/] });

  test('an admin adds a hook, sees its secret once, tries it, and hears of a finished send', async ({ page }) => {
    const hook = await receiver();
    try {
      await login(page);
      // The menu's Settings leads to the admin pages' tabs.
      await page.getByRole('link', { name: 'Settings' }).click();
      await hydrated(page);
      await page.getByRole('navigation', { name: 'Workspace administration' }).getByRole('link', { name: 'Webhooks' }).click();
      await expect(page).toHaveURL(/\/hooks$/);
      await hydrated(page);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Outgoing webhooks');
      // Following a link moves focus to the new page's heading (screen readers announce it).
      await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
      const before = await page.getByTestId('hook').count();

      const form = page.getByTestId('add-hook');
      await form.getByLabel('Address (URL)').fill(hook.url);
      // Completed and failed are ticked already; add cancelled.
      await expect(form.getByLabel('completed')).toBeChecked();
      await form.getByLabel('was cancelled').check();
      await form.getByRole('button', { name: 'Add webhook' }).click();
      const secretBox = page.getByTestId('hook-secret');
      await expect(secretBox).toContainText('shown only this once');
      const secret = (await secretBox.locator('code').textContent())!.trim();
      expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);

      const card = page.getByTestId('hook').filter({ hasText: hook.url });
      await expect(card).toHaveCount(1);
      await expect(page.getByTestId('hook')).toHaveCount(before + 1);
      await expect(card).toContainText('completed, failed, was cancelled');
      await expect(card).toContainText('No calls yet.');

      // A test call: it lands, signed with the secret the page showed.
      await card.getByRole('button', { name: 'Send a test' }).click();
      const row = card.getByTestId('delivery').first();
      await expect(row).toHaveAttribute('data-status', 'delivered');
      await expect(row).toContainText('ping');
      await expect(row).toContainText('Delivered');
      await expect(row).toContainText('HTTP 200');
      expect(hook.calls).toHaveLength(1);
      expect(JSON.parse(hook.calls[0].body).type).toBe('ping');
      expect(signed(secret, hook.calls[0])).toBe(true);
      expect(signed('whsec_' + '0'.repeat(64), hook.calls[0])).toBe(false);

      // A send that finishes is told, with its job.
      const id = await createJob(page, phones(12), 2);
      await expect.poll(async () => (await job(page.request, id)).status, { timeout: 30_000 }).toBe('completed');
      await expect.poll(() => hook.calls.length, { timeout: 15_000 }).toBe(2);
      const told = JSON.parse(hook.calls[1].body);
      expect(told.type).toBe('job.completed');
      expect(told.data.job.id).toBe(id);
      expect(signed(secret, hook.calls[1])).toBe(true);
      await page.reload();
      await hydrated(page);
      const newest = page.getByTestId('hook').filter({ hasText: hook.url }).getByTestId('delivery').first();
      await expect(newest).toContainText('job.completed');
      await expect(newest).toHaveAttribute('data-status', 'delivered');
      await expect(newest.getByRole('link')).toHaveAttribute('href', `/jobs/${id}`);
      // The secret is never shown again.
      await expect(page.locator('body')).not.toContainText(secret);

      await page
        .getByTestId('hook')
        .filter({ hasText: hook.url })
        .getByRole('button', { name: `Delete the webhook to ${hook.url}` })
        .click();
      await expect(page.getByTestId('hook').filter({ hasText: hook.url })).toHaveCount(0);
    } finally {
      await hook.close();
    }
  });
});

test.describe('outgoing webhooks, in Spanish', () => {
  test.use({ locale: 'es-ES', allowedConsoleErrors: [/status of 422/] });

  test('a hook without events is refused in words, and nothing is added', async ({ page }) => {
    await login(page);
    await page.goto('/hooks');
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Webhooks salientes');
    const before = await page.getByTestId('hook').count();
    const form = page.getByTestId('add-hook');
    await form.getByLabel('Dirección (URL)').fill('https://hooks.example.com/<b>x</b>');
    await form.getByLabel('se completa').uncheck();
    await form.getByLabel('falla').uncheck();
    await form.getByRole('button', { name: 'Añadir webhook' }).click();
    await expect(page.getByRole('alert')).toHaveText('Elige al menos un evento por el que llamar.');
    await expect(page.getByTestId('hook')).toHaveCount(before);
    await expect(page.getByTestId('hook-secret')).toHaveCount(0);

    // Ticked again, it is added; the audit log says who did it, from where.
    const url = `https://hooks.example.com/es-${Date.now()}`;
    await form.getByLabel('Dirección (URL)').fill(url);
    await form.getByLabel('falla').check();
    await form.getByRole('button', { name: 'Añadir webhook' }).click();
    await expect(page.getByTestId('hook-secret')).toContainText('solo se muestra esta vez');
    await page.getByRole('navigation', { name: 'Administración del espacio de trabajo' }).getByRole('link', { name: 'Registro' }).click();
    await expect(page).toHaveURL(/\/audit$/);
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Registro de actividad');
    await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
    const entry = page.getByTestId('audit-row').filter({ hasText: url });
    await expect(entry).toHaveCount(1);
    await expect(entry).toHaveAttribute('data-action', 'hook.create');
    await expect(entry).toContainText('Añadió un webhook');
    await expect(entry).toContainText('demo');
    await expect(entry).toContainText('127.0.0.1');
    // Refused tries left nothing behind.
    await expect(page.getByTestId('audit-row').filter({ hasText: '<b>' })).toHaveCount(0);
  });
});
