// Manual look: node shot.mjs BASE_URL OUT_DIR — logs in as the demo user, screenshots each page.
import { chromium } from '@playwright/test';
const [base = 'http://127.0.0.1:3000', out = '/tmp/shots'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
for (const [name, viewport, scheme] of [['desktop', { width: 1280, height: 900 }, 'light'], ['mobile', { width: 360, height: 780 }, 'dark']]) {
  const page = await browser.newPage({ viewport, colorScheme: scheme });
  page.on('console', m => console.log(`[${name} console] ${m.type()}: ${m.text()}`));
  page.on('pageerror', e => console.log(`[${name} pageerror] ${e}`));
  await page.goto(`${base}/`);
  await page.screenshot({ path: `${out}/${name}-login.png`, fullPage: true });
  await page.fill('input[name=username]', 'demo');
  await page.fill('input[name=password]', 'demo-password');
  await page.click('main button[type=submit]');
  await page.waitForURL(`${base}/`);
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${out}/${name}-dashboard.png`, fullPage: true });
  await page.click('a[href="/bulk/new"] >> nth=0');
  await page.waitForURL(`${base}/bulk/new`);
  await page.waitForTimeout(500);
  await page.fill('textarea[name=message]', '¡Hola! Your order is ready for pickup.');
  const phones = Array.from({ length: 200 }, (_, i) => i % 10 === 3 ? `+346${String(i).padStart(6, '0')}13` : `+346${String(i * 100 + 1).padStart(8, '0')}`);
  await page.fill('textarea[name=recipients]', phones.join('\n') + '\nabc\n+34 123');
  await page.click('main button[type=submit]');
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${out}/${name}-bulk-errors.png`, fullPage: true });
  await page.fill('textarea[name=recipients]', phones.join('\n'));
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/jobs\//);
  await page.waitForTimeout(1200);
  await page.screenshot({ path: `${out}/${name}-job-running.png`, fullPage: true });
  await page.waitForTimeout(4000);
  await page.screenshot({ path: `${out}/${name}-job-done.png`, fullPage: true });
  await page.goto(`${base}/`);
  await page.waitForTimeout(800);
  await page.screenshot({ path: `${out}/${name}-dashboard-after.png`, fullPage: true });
  await page.close();
}
await browser.close();
