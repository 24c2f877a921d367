import { test, expect } from './fixtures';
import { hydrated, login } from './helpers';

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
    await expect(page.locator('.field-error')).toHaveText('El mensaje está vacío: escribe el texto que quieres enviar.');

    await page.locator('#message').fill('Hola');
    await page.locator('#recipients').fill('abc\n+34600000001\n+34 600 000 001');
    await page.getByRole('button', { name: 'Empezar a enviar' }).click();
    const lines = page.getByTestId('line-errors');
    await expect(lines).toContainText('Línea 1: «abc» — no es un número de teléfono');
    await expect(lines).toContainText('Línea 3: «+34 600 000 001» — repite la entrada 2 (+34600000001)');
    await expect(page).toHaveURL(/\/bulk\/new$/);
  });
});

test.describe('a session ended elsewhere', () => {
  // The point is a badge that is no longer Live.
  test.use({ expectLive: false });

  test('turns the badge to "Session ended" with a way back, instead of polling', async ({ page, context }) => {
    await login(page);
    const other = await context.newPage();
    await other.goto('/');
    await hydrated(other);
    await other.getByRole('button', { name: 'Log out' }).click();
    await expect(other).toHaveURL(/\/login/);

    const badge = page.locator('.conn');
    await expect(badge).toHaveAttribute('data-state', 'ended');
    await expect(badge).toContainText('Session ended');
    await expect(badge.getByRole('link', { name: 'Log in' })).toHaveAttribute('href', '/login');
    await badge.getByRole('link', { name: 'Log in' }).click();
    await expect(page).toHaveURL(/\/login/);
  });
});
