// Manual look in both languages: node end2end/look.mjs BASE_URL OUT_DIR — logs in as the demo
// admin, shows a refused form, a send, a search, and a session ended from another tab, at 1280 and 360 px.
import { chromium } from '@playwright/test';
const [base = 'http://127.0.0.1:3000', out = '/tmp/look'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const ready = (page) => page.locator('body[data-hydrated="true"]').waitFor();
for (const locale of (process.env.LOCALES ?? 'en-US,es-ES').split(',')) {
  for (const [size, viewport] of [['1280', { width: 1280, height: 900 }], ['360', { width: 360, height: 780 }]]) {
    const name = `${locale}-${size}`;
    const context = await browser.newContext({ viewport, locale });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.log(`[${name} pageerror] ${e}`));
    page.on('console', (m) => m.type() === 'error' && console.log(`[${name} console] ${m.text()}`));
    await page.goto(`${base}/login`);
    await ready(page);
    await page.fill('input[name=workspace]', 'demo');
    await page.fill('input[name=username]', 'demo');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('main button[type=submit]');
    await page.getByRole('alert').waitFor();
    await page.screenshot({ path: `${out}/${name}-login-wrong.png`, fullPage: true });
    await page.fill('input[name=password]', 'demo-password');
    await page.click('main button[type=submit]');
    await page.waitForURL(`${base}/`);
    await ready(page);
    await page.goto(`${base}/bulk/new`);
    await ready(page);
    await page.fill('#message', '   ');
    await page.fill('#recipients', '+34600000001');
    await page.click('main button[type=submit]');
    await page.locator('.field-error').waitFor();
    await page.fill('#message', '¡Hola! <b>Your</b> order is ready.');
    await page.fill('#recipients', 'abc\n+34600000001\n+34 600 000 001\n+34 123\n600000002');
    await page.click('main button[type=submit]');
    await page.getByTestId('line-errors').waitFor();
    await page.screenshot({ path: `${out}/${name}-bulk-errors.png`, fullPage: true });
    const phones = Array.from({ length: 300 }, (_, i) => i % 10 === 3 ? `+346${String(i).padStart(6, '0')}13` : `+346${String(i * 100 + 1).padStart(8, '0')}`);
    await page.fill('#recipients', phones.join('\n'));
    await page.click('main button[type=submit]');
    await page.waitForURL(/\/jobs\//);
    await ready(page);
    await page.locator('[data-testid=job-controls]').waitFor();
    await page.locator('.badge[data-status=completed]').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${out}/${name}-job.png`, fullPage: true });
    const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content');
    const started = await page.request.post(`${base}/api/campaigns`, {
      headers: { 'x-csrf-token': csrf },
      data: { name: 'Demo <i>search</i>', platform: 'Demo', keywords: ['rustlang', 'leptos'], target_results: 60, source: { kind: 'sandbox' } },
    });
    await page.goto(`${base}/campaigns/${(await started.json()).campaignId}`);
    await ready(page);
    await page.locator('.badge[data-status=completed]').first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${out}/${name}-campaign.png`, fullPage: true });
    const other = await context.newPage();
    await other.goto(`${base}/`);
    await ready(other);
    await other.locator('form.inline-form button[type=submit]').click();
    await page.locator('.conn[data-state=ended]').waitFor();
    await page.screenshot({ path: `${out}/${name}-session-ended.png`, fullPage: false });
    await context.close();
  }
}
await browser.close();
