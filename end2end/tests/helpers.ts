import { expect, type Page, type APIRequestContext } from '@playwright/test';

/** Logs in (as the demo admin by default) and waits until the dashboard is interactive and live. */
export async function login(page: Page, username = 'demo', password = 'demo-password', workspace = 'demo') {
  await page.goto('/login');
  await hydrated(page);
  // By name, so it logs in whatever the page's language.
  await page.locator('input[name=workspace]').fill(workspace);
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.locator('main button[type=submit]').click();
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.locator('.conn'), 'the connection badge reaches Live').toHaveAttribute('data-state', 'connected');
}

/** Waits until the WebAssembly bundle has taken over the server-rendered page. */
export async function hydrated(page: Page) {
  await page.locator('body[data-hydrated="true"]').waitFor();
}

/** `count` distinct Spanish mobile numbers; every tenth ends in 13, which the sandbox refuses. */
export function phones(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, n) => {
    const i = n + offset;
    return i % 10 === 3 ? `+346${String(i).padStart(6, '0')}13` : `+346${String(i * 100 + 1).padStart(8, '0')}`;
  });
}

/** The CSRF token of the page's session (state-changing calls made with the session need it). */
export async function csrfToken(page: Page): Promise<string> {
  const token = await page.locator('meta[name="csrf-token"]').getAttribute('content');
  expect(token, 'the page carries a CSRF token').toBeTruthy();
  return token!;
}

/** Creates a bulk send through the REST API with the page's session. */
export async function createJob(page: Page, list: string[], devices = 5, message = 'Hola desde Playwright'): Promise<string> {
  const response = await page.request.post('/api/messages/send-bulk', {
    headers: { 'x-csrf-token': await csrfToken(page) },
    data: { message, phones: list, devices_limit: devices },
  });
  expect(response.status()).toBe(202);
  return (await response.json()).job.id;
}

/** The job as the REST API reports it. */
export async function job(request: APIRequestContext, id: string) {
  const response = await request.get(`/api/jobs/${id}`);
  expect(response.status()).toBe(200);
  return response.json();
}

/** Reads a counter shown on the page as a number (it is grouped with separators). */
export async function counter(page: Page, testId: string): Promise<number> {
  const text = await page.getByTestId(testId).textContent();
  return Number((text ?? '').replace(/[^0-9]/g, ''));
}
