import { test, expect } from './fixtures';
import { readFile } from 'node:fs/promises';
import { counter, hydrated, login } from './helpers';

test.beforeEach(async ({ page }) => {
  await login(page);
});

test('a campaign started from the page advances through its stages and exports its results', async ({ page }) => {
  await page.getByRole('link', { name: 'New campaign' }).first().click();
  await expect(page).toHaveURL(/\/campaigns\/new$/);
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill('Creators talking about #rustlang');
  await page.getByLabel('Platform').fill('Demo');
  await page.getByLabel('Keywords').fill('rustlang\nleptos');
  await page.getByLabel('Results wanted').fill('150');
  // The built-in demo site is the default source, and says it is a demo.
  await expect(page.getByRole('note').filter({ hasText: 'made up' })).toBeVisible();
  await page.getByRole('button', { name: 'Start campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop()!;
  await hydrated(page);

  // Watch the stages go by, and the count of results never go backwards.
  const seen = new Set<string>();
  let last = -1;
  await expect
    .poll(
      async () => {
        const stage = (await page.getByTestId('stage-now').textContent())?.trim();
        if (stage) seen.add(stage);
        const total = await counter(page, 'campaign-total');
        expect(total, 'the count never goes backwards').toBeGreaterThanOrEqual(last);
        last = total;
        return page.locator('.badge').first().getAttribute('data-status');
      },
      { timeout: 90_000, intervals: [50] },
    )
    .toBe('completed');
  expect(seen.has('Searching'), `stages seen: ${[...seen].join(', ')}`).toBe(true);
  await expect(page.locator('[data-testid=stages] .stage-done')).toHaveCount(6);
  await expect(page.locator('.conn')).toHaveAttribute('data-state', 'connected');

  const campaign = await (await page.request.get(`/api/campaigns/${id}`)).json();
  expect(campaign.results).toBe(150);
  expect(await counter(page, 'campaign-total')).toBe(150);
  await expect(page.getByTestId('latest-results').locator('li')).toHaveCount(10);
  const job = campaign.jobs[0];
  await expect(page.getByTestId('campaign-jobs').locator(`tr[data-job-id="${job.id}"] [data-testid=row-sent]`)).toHaveText('150');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').first().click()]);
  const csv = await readFile((await download.path())!, 'utf8');
  const lines = csv.trim().split('\n');
  expect(lines[0]).toBe('url,title,author,text,keyword,job_id,found_at');
  expect(lines.length).toBe(151);

  // The results page lists the same set, a page at a time, and searches it.
  await page.getByRole('link', { name: 'All results' }).click();
  await expect(page.getByTestId('results-range')).toHaveText('1–50 of 150');
  await page.getByLabel('Search in the results').fill('leptos');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(/q=leptos/);
  const range = await page.getByTestId('results-range').textContent();
  expect(range).toMatch(/of \d+$/);
});

test('a small campaign shows its results on the form page right away', async ({ page }) => {
  await page.goto('/campaigns/new');
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill('Quick look');
  await page.getByLabel('Platform').fill('Demo');
  await page.getByLabel('Keywords').fill('axum');
  await page.getByLabel('Results wanted').fill('8');
  await page.getByRole('button', { name: 'Start campaign' }).click();
  const results = page.getByTestId('small-results');
  await expect(results.getByTestId('results-table').locator('tbody tr')).toHaveCount(8);
  await expect(page).toHaveURL(/\/campaigns\/new$/);
  await results.getByRole('link', { name: 'Open the campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('campaign-total')).toHaveText('8');
});

test('a campaign with a bad source is refused on the form and nothing is created', async ({ page }) => {
  await page.goto('/campaigns/new');
  await hydrated(page);
  const before = await (await page.request.get('/api/campaigns')).json();
  await page.getByLabel('Name', { exact: true }).fill('Broken');
  await page.getByLabel('Platform').fill('Web');
  await page.getByLabel('Keywords').fill('rust');
  await page.getByLabel('A website').check();
  await page.getByLabel('Search URL').fill('https://example.com/search');
  await page.getByLabel('Result (CSS selector)').fill('div.result');
  await page.getByLabel('Link inside a result').fill('a');
  await page.getByRole('button', { name: 'Start campaign' }).click();
  await expect(page.locator('#search_url-error')).toContainText('{keyword}');
  await expect(page.getByLabel('Search URL')).toBeFocused();
  await expect(page).toHaveURL(/\/campaigns\/new$/);
  const after = await (await page.request.get('/api/campaigns')).json();
  expect(after.length).toBe(before.length);
});
