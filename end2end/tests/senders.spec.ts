import { test, expect } from './fixtures';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { createJob, csrfToken, hydrated } from './helpers';

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
  // A refused form is a 409 / 422 answer, which the browser logs.
  test.use({ locale: 'es-ES', allowedConsoleErrors: [/status of 4(09|22)/] });

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
    // Nothing answers there: the server's health checks learn nothing, so it stays unused.
    await form.getByLabel('URL base').fill('http://127.0.0.1:9/v21.0');
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
    // An address that is not http(s): refused, naming the field.
    await form.getByLabel('Nombre').fill('Pasarela');
    await form.getByLabel('Proveedor').selectOption('http');
    await form.getByLabel('URL', { exact: true }).fill('ftp://gateway.example/send');
    await form.getByRole('button', { name: 'Añadir emisor' }).click();
    await expect(page.getByRole('alert')).toContainText('El ajuste «url» debe ser una dirección http:// o https://');
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

/** A local WhatsApp Cloud API: accepts every text message, answering a wamid of its own, and
 * reports its number's status (`GET /{phone_number_id}`) as the test sets it. */
async function fakeCloudApi(): Promise<{
  url: string;
  setNumber: (status: string, quality: string) => void;
  close: () => Promise<void>;
}> {
  const http = await import('node:http');
  let sent = 0;
  let number = { status: 'CONNECTED', quality_rating: 'GREEN' };
  const server = http.createServer((request, response) => {
    if (request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...number, health_status: { can_send_message: 'AVAILABLE' }, id: '106540352242922' }));
      return;
    }
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const to = JSON.parse(body).to;
      sent += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: `wamid.E2E${to}${sent}` }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v21.0`,
    setNumber: (status, quality) => (number = { status, quality_rating: quality }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test.describe('a send through a WhatsApp sender', () => {
  // A refused number or send is a 422 answer, which the browser logs.
  test.use({ allowedConsoleErrors: [/status of 422/] });

  test('fills its funnel live from signed receipts, and its replies reach the inbox and the opt-out list', async ({ page }) => {
    const { createHmac } = await import('node:crypto');
    jobpulse(['tenant', 'create', 'umbrella']);
    jobpulse(['user', 'create', '--tenant', 'umbrella', '--username', 'uma', '--role', 'admin'], {
      JOBPULSE_USER_PASSWORD: 'umbrella-password',
    });
    const cloud = await fakeCloudApi();
    try {
      await page.goto('/login');
      await hydrated(page);
      await page.locator('input[name=workspace]').fill('umbrella');
      await page.locator('input[name=username]').fill('uma');
      await page.locator('input[name=password]').fill('umbrella-password');
      await page.locator('main button[type=submit]').click();
      await expect(page).toHaveURL(/\/$/);
      await hydrated(page);
      const csrf = { 'x-csrf-token': await csrfToken(page) };
      const appSecret = 'e2e-app-secret';
      const created = await page.request.post('/api/senders', {
        headers: csrf,
        data: {
          name: 'Cloud', provider: 'whatsapp_cloud', rate_per_minute: 60000,
          config: { base_url: cloud.url, phone_number_id: '106540352242922', access_token: 'EAAG-e2e', app_secret: appSecret, verify_token: 'v' },
        },
      });
      expect(created.status()).toBe(201);
      const sender = (await created.json()).sender;
      const id = await createJob(page, ['+34600000001', '+34600000101', '+34600000201', '+34600000301'], 1);
      await page.goto(`/jobs/${id}`);
      await hydrated(page);
      await expect(page.locator('.badge[data-status]')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
      await expect(page.getByTestId('stat-awaiting')).toHaveText('4');
      await expect(page.getByTestId('receipts-arriving')).toHaveText('Sending finished — receipts arriving');

      const items = (await (await page.request.get(`/api/jobs/${id}/items?status=sent`)).json()).items;
      const wamids: string[] = items.map((item: { provider_message_id: string }) => item.provider_message_id);
      const statuses = [
        { id: wamids[0], status: 'delivered' },
        { id: wamids[1], status: 'read' },
        { id: wamids[2], status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable' }] },
      ].map((s) => ({ ...s, timestamp: '1764700000', recipient_id: '34600000001' }));
      const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', statuses } }] }] });
      // Meta calls without the browser's cookies.
      const post = (signature: string) =>
        fetch(sender.webhook_url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
      expect((await post('sha256=00')).status).toBe(401);
      const signature = 'sha256=' + createHmac('sha256', appSecret).update(body).digest('hex');
      expect((await post(signature)).status).toBe(200);

      // Live, without a reload: the page follows the job's receipt events.
      await expect(page.getByTestId('stat-delivered')).toHaveText('2');
      await expect(page.getByTestId('stat-read')).toHaveText('1');
      await expect(page.getByTestId('stat-undelivered')).toHaveText('1');
      await expect(page.getByTestId('stat-awaiting')).toHaveText('1');
      await page.reload();
      await hydrated(page);
      await expect(page.getByTestId('stat-delivered')).toHaveText('2');

      // Replies: counted on the send live, shown in the Inbox live, an opt-out word listed.
      const reply = (from: string, wamid: string, text: string) => {
        const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', contacts: [{ profile: { name: 'Ana' }, wa_id: from }],
          messages: [{ from, id: wamid, timestamp: '1764700000', type: 'text', text: { body: text } }] } }] }] });
        const signature = 'sha256=' + createHmac('sha256', appSecret).update(body).digest('hex');
        return fetch(sender.webhook_url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
      };
      await expect(page.getByTestId('stat-replies')).toHaveText('0');
      expect((await reply('34600000101', 'wamid.R1', '¿Y el precio? <img src=x onerror=alert(1)>')).status).toBe(200);
      await expect(page.getByTestId('stat-replies')).toHaveText('1');
      await page.getByRole('link', { name: 'See the replies' }).click();
      await expect(page).toHaveURL(new RegExp(`/inbox\\?job=${id}$`));
      await hydrated(page);
      await expect(page.getByTestId('inbox-text')).toHaveText(['¿Y el precio? <img src=x onerror=alert(1)>']);

      await page.getByRole('link', { name: 'Inbox' }).click();
      await expect(page).toHaveURL(/\/inbox$/);
      await hydrated(page);
      await expect(page.getByTestId('inbox-message')).toHaveCount(1);
      expect((await reply('34600000301', 'wamid.R2', 'STOP')).status).toBe(200);
      // Live, newest first, without a reload.
      await expect(page.getByTestId('inbox-text')).toHaveText(['STOP', '¿Y el precio? <img src=x onerror=alert(1)>']);
      await expect(page.getByTestId('inbox-from').first()).toHaveText('+34600000301');

      await page.getByRole('link', { name: 'Opted-out numbers' }).click();
      await expect(page).toHaveURL(/\/opt-outs$/);
      await hydrated(page);
      const listed = page.getByTestId('opt-out-row');
      await expect(listed).toHaveCount(1);
      await expect(listed).toContainText('+34600000301');
      await expect(listed).toContainText('Replied with an opt-out word');
      const add = page.getByTestId('add-opt-out');
      await add.getByLabel('Number to add').fill('call me maybe');
      await add.getByRole('button', { name: 'Add to the list' }).click();
      await expect(page.getByRole('alert')).toBeVisible();
      await add.getByLabel('Number to add').fill('+34 600 000 401');
      await add.getByRole('button', { name: 'Add to the list' }).click();
      await expect(listed).toHaveCount(2);
      await expect(page.getByText('Added to the list.')).toBeVisible();

      // The next send to an opted-out number is refused, naming the line.
      await page.goto('/bulk/new');
      await hydrated(page);
      await page.getByLabel('Message').fill('Hola otra vez');
      await page.getByLabel('Recipients').fill('+34600000001\n+34 600 000 301');
      await page.getByRole('button', { name: 'Start sending' }).click();
      const errors = page.getByTestId('line-errors');
      await expect(errors).toContainText('Line 2');
      await expect(errors).toContainText('opted out');
      await expect(page).toHaveURL(/\/bulk\/new$/);

      // Taken off the list, it can be sent to again.
      await page.goto('/opt-outs');
      await hydrated(page);
      await listed.filter({ hasText: '+34600000301' }).getByRole('button', { name: 'Remove' }).click();
      await expect(listed).toHaveCount(1);
      await expect(listed).not.toContainText('+34600000301');
    } finally {
      await cloud.close();
    }
  });

  test('shows what the gateway says of its sender live, on the job page and the senders page', async ({ page }) => {
    jobpulse(['tenant', 'create', 'hooli']);
    jobpulse(['user', 'create', '--tenant', 'hooli', '--username', 'gavin', '--role', 'admin'], {
      JOBPULSE_USER_PASSWORD: 'hooli-password',
    });
    const cloud = await fakeCloudApi();
    try {
      await page.goto('/login');
      await hydrated(page);
      await page.locator('input[name=workspace]').fill('hooli');
      await page.locator('input[name=username]').fill('gavin');
      await page.locator('input[name=password]').fill('hooli-password');
      await page.locator('main button[type=submit]').click();
      await expect(page).toHaveURL(/\/$/);
      await hydrated(page);
      const created = await page.request.post('/api/senders', {
        headers: { 'x-csrf-token': await csrfToken(page) },
        data: {
          name: 'Hooli <i>XYZ</i>', provider: 'whatsapp_cloud', rate_per_minute: 60000,
          config: { base_url: cloud.url, phone_number_id: '106540352242922', access_token: 'EAAG-e2e', app_secret: 's', verify_token: 'v' },
        },
      });
      expect(created.status()).toBe(201);
      const id = await createJob(page, ['+34600000001', '+34600000101'], 1);
      await page.goto(`/jobs/${id}`);
      await hydrated(page);
      await expect(page.locator('.badge[data-status]')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
      const lane = page.getByTestId('lane');
      await expect(lane).toHaveCount(1);
      await expect(lane).toContainText('Device 1');
      await expect(lane.locator('strong')).toHaveText('Hooli <i>XYZ</i>');
      await expect(lane.getByTestId('sender-health')).toHaveText('Working');

      // Meta restricts the number: the page says so without a reload.
      cloud.setNumber('RESTRICTED', 'RED');
      await expect(lane.getByTestId('sender-health')).toHaveText('Down', { timeout: 30_000 });
      await expect(lane.getByTestId('sender-health-detail')).toHaveText(
        'WhatsApp Cloud API reports the sender as RESTRICTED (quality rating RED)',
      );

      await page.getByRole('link', { name: 'Senders' }).click();
      await expect(page).toHaveURL(/\/senders$/);
      await hydrated(page);
      const row = page.getByTestId('sender-row');
      await expect(row.getByTestId('sender-health')).toHaveText('Down');
      // Lifted: the senders page follows it too.
      cloud.setNumber('CONNECTED', 'GREEN');
      await expect(row.getByTestId('sender-health')).toHaveText('Working', { timeout: 30_000 });
      await expect(row.getByTestId('sender-health-detail')).toHaveCount(0);
    } finally {
      await cloud.close();
    }
  });
});
