import { chromium } from '@playwright/test';
const [base = 'http://127.0.0.1:3999', out = '/tmp/look'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const ready = (page) => page.locator('body[data-hydrated="true"]').waitFor();
let first = true;
let jobId = null;
for (const locale of ['en-US', 'es-ES']) {
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
    await page.fill('input[name=password]', 'demo-password');
    await page.click('main button[type=submit]');
    await page.waitForURL(`${base}/`);
    await ready(page);
    await page.goto(`${base}/senders`);
    await ready(page);
    if (first) {
      await page.screenshot({ path: `${out}/${name}-senders-empty.png`, fullPage: true });
      const form = page.getByTestId('add-sender');
      await form.locator('input[name=name]').fill('Ventas <img src=x onerror=alert(1)>');
      await form.locator('select[name=provider]').selectOption('whatsapp_cloud');
      await form.locator('input[name=base_url]').fill('http://127.0.0.1:9/v21.0');
      await form.locator('input[name=phone_number_id]').fill('106540352242922');
      await form.locator('input[name=access_token]').fill('EAAG-look');
      await form.locator('input[name=app_secret]').fill('s');
      await form.locator('input[name=verify_token]').fill('v');
      await form.locator('input[name=rate_per_minute]').fill('6000');
      await form.locator('button[type=submit]').click();
      await page.getByTestId('sender-row').first().waitFor();
      await form.locator('input[name=name]').fill('Demo');
      await form.locator('select[name=provider]').selectOption('sandbox');
      await form.locator('input[name=rate_per_minute]').fill('6000');
      await form.locator('button[type=submit]').click();
      await page.getByTestId('sender-row').nth(1).waitFor();
      await form.locator('input[name=name]').fill('Demo');
      await form.locator('button[type=submit]').click();
      await page.getByRole('alert').waitFor();
      await page.screenshot({ path: `${out}/${name}-senders-error.png`, fullPage: true });
      const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content');
      const phones = Array.from({ length: 40 }, (_, i) => `+346${String(i * 100 + 1).padStart(8, '0')}`);
      const r = await page.request.post(base + '/api/messages/send-bulk', { headers: { 'x-csrf-token': csrf }, data: { message: 'Hola', phones, devices_limit: 5 } });
      jobId = (await r.json()).job.id;
      first = false;
      await page.waitForTimeout(8000);
      await page.reload();
      await ready(page);
    }
    await page.screenshot({ path: `${out}/${name}-senders.png`, fullPage: true });
    await page.goto(`${base}/jobs/${jobId}`);
    await ready(page);
    await page.screenshot({ path: `${out}/${name}-job-funnel.png`, fullPage: true });
    await context.close();
  }
}
await browser.close();
