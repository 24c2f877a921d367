import { test, expect } from './fixtures';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { hydrated } from './helpers';

/** Runs the jobpulse CLI against the suite's database. */
function jobpulse(args: string[], extraEnv: Record<string, string> = {}) {
  return execFileSync(process.env.E2E_BINARY!, args, {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, JOBPULSE_DATABASE_URL: process.env.E2E_DATABASE_URL!, JOBPULSE_LOG: 'error', ...extraEnv },
    encoding: 'utf8',
  });
}

// A tenant of its own: the demo tenant's sends must keep using the server's sandbox.
test.describe('senders, in Spanish', () => {
  test.use({ locale: 'es-ES' });

  test('an admin adds a WhatsApp sender without seeing its secrets again, and mistakes come back in words', async ({
    page,
  }) => {
    jobpulse(['tenant', 'create', 'initech']);
    jobpulse(['user', 'create', '--tenant', 'initech', '--username', 'ines', '--role', 'admin'], {
      JOBPULSE_USER_PASSWORD: 'initech-password',
    });
    await page.goto('/login');
    await hydrated(page);
    await page.locator('input[name=workspace]').fill('initech');
    await page.locator('input[name=username]').fill('ines');
    await page.locator('input[name=password]').fill('initech-password');
    await page.locator('main button[type=submit]').click();
    await expect(page).toHaveURL(/\/$/);
    await hydrated(page);

    await page.getByRole('link', { name: 'Emisores' }).click();
    await expect(page).toHaveURL(/\/senders$/);
    await hydrated(page);
    await expect(page.getByTestId('no-senders')).toContainText('Aún no hay emisores');

    const form = page.getByTestId('add-sender');
    await form.getByLabel('Nombre').fill('Ventas <b>norte</b>');
    await form.getByLabel('Proveedor').selectOption('whatsapp_cloud');
    await form.getByLabel('ID del número de teléfono').fill('106540352242922');
    await form.getByLabel('Token de acceso').fill('EAAG-secret-token');
    await form.getByLabel('Secreto de la app').fill('app-secret-e2e');
    await form.getByLabel('Token de verificación').fill('verify-e2e');
    await form.getByRole('button', { name: 'Añadir emisor' }).click();

    const row = page.getByTestId('sender-row');
    await expect(row).toHaveCount(1);
    // The name is text, never markup.
    await expect(row.locator('strong')).toHaveText('Ventas <b>norte</b>');
    await expect(row.getByTestId('sender-health')).toHaveText('Sin usar aún');
    await expect(row).toContainText('WhatsApp Cloud API');
    await expect(row.locator('.webhook-url')).toContainText('/api/webhooks/');
    await expect(page.locator('body')).not.toContainText('EAAG-secret-token');
    await expect(page.locator('body')).not.toContainText('app-secret-e2e');

    // The same name again: refused in Spanish, nothing created.
    await form.getByLabel('Nombre').fill('Ventas <b>norte</b>');
    await form.getByLabel('Proveedor').selectOption('sandbox');
    await form.getByRole('button', { name: 'Añadir emisor' }).click();
    await expect(page.getByRole('alert')).toContainText('Ya tienes un emisor llamado «Ventas <b>norte</b>»');
    // An address on the server's own network: refused, naming the field.
    await form.getByLabel('Nombre').fill('Pasarela');
    await form.getByLabel('Proveedor').selectOption('http');
    await form.getByLabel('URL', { exact: true }).fill('http://169.254.169.254/latest');
    await form.getByRole('button', { name: 'Añadir emisor' }).click();
    await expect(page.getByRole('alert')).toContainText('apunta a la red del propio servidor');
    await expect(row).toHaveCount(1);

    await row.getByRole('button', { name: 'Desactivar' }).click();
    await expect(row.locator('.badge-cancelled')).toHaveText('Desactivado');
    await expect(row.getByRole('button', { name: 'Activar' })).toBeVisible();

    // REST shows the same sender, its secrets by name only.
    const listed = await (await page.request.get('/api/senders')).json();
    expect(listed).toHaveLength(1);
    expect(listed[0].active).toBe(false);
    expect([...listed[0].secrets_set].sort()).toEqual(['access_token', 'app_secret', 'verify_token']);
    expect(JSON.stringify(listed)).not.toContain('EAAG-secret-token');
  });
});
