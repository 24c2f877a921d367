import { defineConfig } from '@playwright/test';
import * as path from 'node:path';

// The suite runs against the release build that scripts/run.sh serves (`cargo leptos build
// --release --precompress`), on its own port and a fresh SQLite database (or
// JOBPULSE_DATABASE_URL, e.g. a PostgreSQL one). JOBPULSE_BIN picks another binary.
const port = Number(process.env.E2E_PORT ?? 3457);
const baseURL = process.env.BASE_URL ?? `http://127.0.0.1:${port}`;
const root = path.resolve(__dirname, '..');
const binary = process.env.JOBPULSE_BIN ?? path.join(root, 'target/release/jobpulse');
// Workers load this file again: they inherit the runner's choice through E2E_DATABASE_URL.
const database =
  process.env.JOBPULSE_DATABASE_URL ??
  process.env.E2E_DATABASE_URL ??
  `sqlite://${path.join(__dirname, '.data', `e2e-${Date.now()}.db`)}`;
// Tests run the CLI against the same database (to create tenants and users).
process.env.E2E_DATABASE_URL = database;
process.env.E2E_BINARY = binary;

export default defineConfig({
  testDir: './tests',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: process.env.BASE_URL
    ? undefined
    : {
        command: `${binary} serve`,
        cwd: root,
        url: `${baseURL}/healthz`,
        reuseExistingServer: false,
        timeout: 60_000,
        stdout: 'pipe',
        env: {
          JOBPULSE_ADDR: `127.0.0.1:${port}`,
          JOBPULSE_DATABASE_URL: database,
          JOBPULSE_PROVIDER: 'sandbox',
          // Slow enough to watch (and reload) a job mid-send, fast enough for a quick suite.
          JOBPULSE_SANDBOX_LATENCY_MS: '60',
          // The senders test's fake WhatsApp Cloud API listens on 127.0.0.1.
          JOBPULSE_SENDERS_ALLOW_PRIVATE_ADDRESSES: 'true',
          // The hooks test's receiver listens on 127.0.0.1 (hooks obey the scraping rule).
          JOBPULSE_SCRAPE_ALLOW_PRIVATE_ADDRESSES: 'true',
          // Gateways are asked about their senders' health every 2 s, so a change shows soon.
          JOBPULSE_SENDERS_HEALTH_CHECK_SECONDS: '2',
          // Each demo-site page takes this long: a campaign's stages can be watched moving.
          JOBPULSE_DEMO_LATENCY_MS: '250',
          JOBPULSE_DEMO: 'true',
          JOBPULSE_DEMO_PASSWORD: 'demo-password',
          JOBPULSE_LOG: 'warn',
          // Every test logs in as the demo admin.
          JOBPULSE_LOGINS_PER_MINUTE: '1000',
        },
      },
});
