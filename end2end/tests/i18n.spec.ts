import { test, expect } from './fixtures';
import { createJob, csrfToken, hydrated, job, login, phones } from './helpers';

test.describe('in Spanish', () => {
  // The wrong password is answered 401, which Chromium logs.
  test.use({ locale: 'es-ES', allowedConsoleErrors: [/status of 401/] });

  test("the server's answers read in Spanish: a wrong password, a refused form, bad numbers", async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await page.locator('input[name=workspace]').fill('demo');
    await page.locator('input[name=username]').fill('demo');
    await page.locator('input[name=password]').fill('not-the-password');
    await page.locator('main button[type=submit]').click();
    await expect(page.getByRole('alert')).toHaveText('Espacio de trabajo, usuario o contraseña incorrectos.');

    await page.locator('input[name=password]').fill('demo-password');
    await page.locator('main button[type=submit]').click();
    await expect(page).toHaveURL(/\/$/);
    await hydrated(page);
    await expect(page.locator('.conn')).toHaveText('En vivo');

    await page.goto('/bulk/new');
    await hydrated(page);
    // Spaces pass the browser's own `required`; the server's rule words the refusal.
    await page.locator('#message').fill('   ');
    await page.locator('#recipients').fill('+34600000001');
    await page.getByRole('button', { name: 'Empezar a enviar' }).click();
    // Under its field, in the field's words, with focus on it.
    await expect(page.locator('#message-error')).toHaveText('Escribe el mensaje que quieres enviar.');
    await expect(page.locator('#message')).toBeFocused();
    await expect(page.getByTestId('fix-fields')).toHaveText('Corrige el campo marcado arriba; no se ha creado nada.');

    await page.locator('#message').fill('Hola');
    await page.locator('#recipients').fill('abc\n+34600000001\n+34 600 000 001');
    await page.getByRole('button', { name: 'Empezar a enviar' }).click();
    const lines = page.getByTestId('line-errors');
    await expect(lines).toContainText('Línea 1: «abc» — no es un número de teléfono');
    await expect(lines).toContainText('Línea 3: «+34 600 000 001» — repite la entrada 2 (+34600000001)');
    await expect(page).toHaveURL(/\/bulk\/new$/);
  });
});

test.describe('what the server says of running work, in Spanish', () => {
  test.use({ locale: 'es-ES' });

  test("a send's refusals and a search's stages are worded from their codes", async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await page.locator('input[name=workspace]').fill('demo');
    await page.locator('input[name=username]').fill('demo');
    await page.locator('input[name=password]').fill('demo-password');
    await page.locator('main button[type=submit]').click();
    await expect(page).toHaveURL(/\/$/);
    await hydrated(page);
    // Every tenth number ends in 13, which the sandbox refuses: not on WhatsApp.
    const id = await createJob(page, phones(30, 50_000), 2);
    await page.goto(`/jobs/${id}`);
    await hydrated(page);
    await expect(page.locator('.badge')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
    await expect(page.locator('.log-line.log-failure').first()).toContainText('el destinatario no está en WhatsApp');
    await page.getByTestId('recipients-failed').click();
    const failed = page.getByTestId('recipients-table').locator('tbody tr');
    await expect(failed).toHaveCount(3);
    await expect(failed.first()).toContainText('el destinatario no está en WhatsApp');

    const started = await page.request.post('/api/campaigns', {
      headers: { 'x-csrf-token': await csrfToken(page) },
      data: { name: 'Búsqueda en español', platform: 'Demo', keywords: ['rustlang'], target_results: 25, source: { kind: 'sandbox' } },
    });
    expect([200, 202]).toContain(started.status());
    const campaign = (await started.json()).campaignId;
    await page.goto(`/campaigns/${campaign}`);
    await hydrated(page);
    await expect(page.locator('.badge').first()).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
    await expect(page.getByTestId('stage-message')).toContainText('Objetivo alcanzado: 25 resultados');
    const log = page.getByTestId('log-lines');
    await expect(log).toContainText('Comprobando la fuente');
    await expect(log).toContainText('Página 1 de «rustlang»');
    await expect(log).not.toContainText('Checking the source');

    // A job that failed says why and what to do in Spanish; an outside worker's own words stay.
    const created = await page.request.post('/api/jobs', {
      headers: { 'x-csrf-token': await csrfToken(page) },
      data: { kind: 'external', name: 'Importación nocturna', total: 3, stages: ['fetch', 'load'] },
    });
    expect(created.status()).toBe(201);
    const { job: external, worker_token: worker } = await created.json();
    const auth = { authorization: `Bearer ${worker}` };
    expect((await page.request.post(`/api/jobs/${external.id}/progress`, { headers: auth, data: { processed: 1, stage: 'fetch' } })).status()).toBeLessThan(300);
    expect((await page.request.post(`/api/jobs/${external.id}/fail`, { headers: auth, data: { error: 'disco lleno' } })).status()).toBeLessThan(300);
    await page.goto(`/jobs/${external.id}`);
    await hydrated(page);
    await expect(page.locator('.badge').first()).toHaveAttribute('data-status', 'failed');
    await expect(page.getByTestId('log-lines')).toContainText('El trabajo falló: disco lleno — Lo informó su worker externo.');
    await expect(page.getByTestId('log-lines')).not.toContainText('Reported by');
    // The stepper marks the stage it stopped in.
    await expect(page.locator('[data-testid=stages] .stage-failed')).toHaveAttribute('data-stage', 'fetch');
    await expect(page.locator('[data-testid=stages] .stage-done')).toHaveCount(0);
  });
});

test.describe('a session ended elsewhere', () => {
  // The point is a badge that is no longer Live.
  test.use({ expectLive: false });

  test('turns the badge to "Session ended" with a way back, instead of polling', async ({ page, context }) => {
    await login(page);
    // A paused job: its page offers Resume and Cancel while the session lasts.
    const id = await createJob(page, phones(400, 40_000), 1);
    const paused = await page.request.post(`/api/jobs/${id}/pause`, { headers: { 'x-csrf-token': await csrfToken(page) } });
    expect(paused.status()).toBeLessThan(300);
    await expect.poll(async () => (await job(page.request, id)).status, { timeout: 30_000 }).toBe('paused');
    await page.goto(`/jobs/${id}`);
    await hydrated(page);
    await expect(page.getByRole('button', { name: 'Resume', exact: true })).toBeVisible();

    const other = await context.newPage();
    await other.goto('/');
    await hydrated(other);
    await other.getByRole('button', { name: 'Log out' }).click();
    await expect(other).toHaveURL(/\/login/);

    const badge = page.locator('.conn');
    await expect(badge).toHaveAttribute('data-state', 'ended');
    await expect(badge).toContainText('Session ended');
    await expect(badge.getByRole('link', { name: 'Log in' })).toHaveAttribute('href', '/login');
    // Commands would be refused now: no buttons that cannot work.
    await expect(page.getByTestId('job-controls').getByRole('button')).toHaveCount(0);
    await badge.getByRole('link', { name: 'Log in' }).click();
    await expect(page).toHaveURL(/\/login/);
  });
});
