/**
 * The web app in a real browser against a real `pmg serve` app: createApp over the job engine on fixture models, the
 * dataset routes on a tiny MovieLens written here, the page's routes; Debian's Chromium driven by playwright-core.
 * Skipped only when /usr/bin/chromium is missing (apt-get install -y chromium).
 * PMG_SERVE_SCREENSHOT=docs/images/serve-page.png keeps a 1280×900 screenshot of a finished job.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { JobRecord, JobService } from '../service/job-types.js';
import { crossings, expectedWinner, type ScoredResult as Result } from '../testing/alpha-crossings.js';
import { jobServiceFixture, type JobServiceFixture } from '../testing/job-service-fixture.js';
import { writeTinyMovieLens } from '../testing/tiny-movielens.js';
import { createApp } from './app.js';
import { webAppExtraRoutes } from './web-mount.js';
import { listenLoopback, type RunningServer } from './server.js';

// Browser globals used inside page callbacks (this project compiles without the DOM lib).
declare const document: {
  activeElement: { id: string } | null;
  querySelector(s: string): { getAttribute(n: string): string | null } | null;
  querySelectorAll(s: string): { length: number };
  getElementById(id: string): { value: string; dispatchEvent(e: unknown): boolean; textContent: string | null };
};
declare const getComputedStyle: (element: unknown) => { outlineStyle: string };
declare const Event: new (type: string, init?: { bubbles?: boolean }) => unknown;
declare const MutationObserver: new (callback: (records: { target: { getAttribute(n: string): string | null } }[]) => void) => {
  observe(node: unknown, options: { subtree: boolean; attributes: boolean; attributeFilter: string[] }): void;
};
declare const window: { srcLog: string[] } & Record<string, unknown>;

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;

let fx: JobServiceFixture;
let service: JobService;
let server: RunningServer;
/** The same service behind an API key. */
let keyed: RunningServer;
const API_KEY = 'web-test-key';
let browser: Browser;
let firstJob: string | undefined;

before(async () => {
  if (skip) return;
  fx = await jobServiceFixture('pmg-web-browser-', { captioner: true });
  service = await fx.open({ data: 'data', softModules: { 'fixture-soft': join(fx.models, 'soft') } });
  const app = createApp({
    service,
    dataDir: join(fx.root, 'data'),
    extraRoutes: webAppExtraRoutes({ data: writeTinyMovieLens(join(fx.root, 'tiny-ml')) }),
  });
  server = await listenLoopback(app);
  keyed = await listenLoopback(createApp({ service, dataDir: join(fx.root, 'data'), apiKey: API_KEY, extraRoutes: webAppExtraRoutes() }));
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
after(async () => {
  if (skip) return;
  await browser.close();
  await server.close();
  await keyed.close();
  await fx.close();
});

async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Aborted by the page, not failed: an <img> whose src changes before it loaded (a preview, or with an API key the
    // blob: URL of one), an event stream closed after 'done'.
    const aborted =
      request.failure()?.errorText === 'net::ERR_ABORTED' &&
      (/\/(images\/preview-\d+\.png|events)(\?|$)/.test(request.url()) || request.url().startsWith('blob:'));
    if (!aborted) problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on('console', (message) => {
    // A failed load is also a response below, with its URL.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  return { page, problems };
}

async function record(id: string): Promise<JobRecord> {
  return (await (await fetch(`${server.url}/v1/generations/${id}`)).json()) as JobRecord;
}

/** The candidate the page outlines. */
const outlined = (page: Page) => page.$eval('#tiles figure.tile.winner', (f) => Number(f.getAttribute('data-candidate')));

test('pick a user and a target, generate, watch previews and scores, move α, download result.json, reopen by URL', { skip, timeout: 180_000 }, async () => {
  const { page, problems } = await newPage();
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#user-select option');
  await page.selectOption('#user-select', '1');
  await page.click('#user-use');
  await page.waitForFunction(() => document.querySelector('#history-list li:nth-child(3)') !== null);
  const history = await page.$$eval('#history-list input', (inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
  assert.deepEqual(history, ['Toy Story', 'The Story of Us', 'Toys']);
  assert.equal(await page.inputValue('#target-title'), 'Heat', "the user's held-out item is the suggested target");
  // A title from the search joins the history; the seed, steps and size are set.
  await page.fill('#item-search', 'jum');
  await page.click('#item-results button');
  assert.equal(await page.locator('#history-list li').count(), 4);
  await page.fill('#steps', '4');
  await page.fill('#size', '64');
  await page.fill('#seed', '3');
  // Every src the tiles' images take, in order.
  await page.evaluate(() => {
    window.srcLog = [];
    new MutationObserver((records) => records.forEach((r) => window.srcLog.push(r.target.getAttribute('src') ?? ''))).observe(
      document.getElementById('tiles'),
      {
        subtree: true,
        attributes: true,
        attributeFilter: ['src'],
      },
    );
  });
  await page.click('#generate');
  await page.waitForURL(/\/jobs\/j_[a-z2-7]{20}$/);
  const id = page.url().split('/').pop()!;
  firstJob = id;
  await page.waitForSelector('#alpha-panel:not([hidden])', { timeout: 120_000 });
  assert.equal(await page.textContent('#job-state'), 'done');
  // The recent jobs list follows the job's end (it listed it as running when it was submitted).
  await page.locator('#recent-list li', { hasText: `${id} done` }).waitFor({ timeout: 10_000 });

  const done = await record(id);
  assert.equal(done.state, 'done');
  const result = done.result as Result;
  const job = done.job as { history: { items: { title: string }[] }; target: { item: { title: string } }; steps: number; seed: number };
  assert.deepEqual(
    job.history.items.map((i) => i.title),
    ['Toy Story', 'The Story of Us', 'Toys', 'Jumanji'],
  );
  assert.equal(job.target.item.title, 'Heat');
  assert.equal(job.seed, 3);

  // Previews: each candidate's x0 preview URL changed with the steps (?v=<step>), then its final image.
  const srcs = await page.evaluate(() => window.srcLog);
  for (let k = 0; k < result.candidates.length; k++) {
    const versions = new Set(srcs.filter((s) => s.includes(`/images/preview-${k}.png?v=`)).map((s) => s.split('?v=')[1]));
    assert.ok(versions.size >= 2, `candidate ${k}'s preview updated during denoising (${[...versions].join(', ')})`);
    assert.ok(
      srcs.some((s) => s.endsWith(`/images/candidate-${k}.png`)),
      `candidate ${k}'s final image is shown`,
    );
  }
  // Keywords, scores, the winner outlined and announced.
  assert.ok(((await page.textContent('#keywords-preference')) ?? '').length > 0);
  const captions = await page.$$eval('#tiles figcaption', (list) => list.map((f) => f.textContent ?? ''));
  assert.equal(captions.length, result.candidates.length);
  result.candidates.forEach((c, k) => {
    assert.match(captions[k]!, new RegExp(`d_p ${c.dp.toFixed(2)} · d_t ${c.dt.toFixed(2)} · z ${c.z.toFixed(4)}`));
    assert.match(captions[k]!, new RegExp(`w_p ${c.weights.preference.toFixed(2)}`));
    assert.doesNotMatch(captions[k]!, /undefined|NaN/);
  });
  assert.equal(await outlined(page), result.chosen);
  assert.match((await page.textContent('#alpha-winner')) ?? '', new RegExp(`candidate ${result.chosen}$`));
  for (const alt of await page.$$eval('img', (list) => list.map((i) => i.getAttribute('alt') ?? ''))) assert.ok(alt.length > 5, `alt text '${alt}'`);

  // α: at every slider stop the outlined winner is the selection's; it changes exactly where the lines cross.
  const expectedBreaks = crossings(result.candidates).filter(
    (a) => expectedWinner(result.candidates, a - 1e-9) !== expectedWinner(result.candidates, a + 1e-9),
  );
  assert.ok(expectedBreaks.length >= 1, 'seed 3 gives scores whose winner changes with α');
  const listed = await page.$$eval('#alpha-breakpoints .breakpoint', (list) => list.map((s) => Number(s.getAttribute('data-alpha'))));
  assert.equal(listed.length, expectedBreaks.length);
  listed.forEach((a, k) => assert.ok(Math.abs(a - expectedBreaks[k]!) < 1e-12, `breakpoint ${a} vs ${expectedBreaks[k]}`));
  // The bar of winners spans the slider's range: one segment per stretch, widths summing to the bar's.
  const bar = await page.$eval('#alpha-segments', (b) => ({
    width: (b as unknown as { clientWidth: number }).clientWidth,
    parts: [...b.children].map((s) => (s as unknown as { offsetWidth: number }).offsetWidth),
  }));
  assert.equal(bar.parts.length, expectedBreaks.length + 1);
  assert.ok(Math.abs(bar.parts.reduce((a, b) => a + b, 0) - bar.width) <= bar.parts.length, `segments ${bar.parts.join('+')} fill ${bar.width}px`);
  let previous: number | undefined;
  for (let step = 0; step <= 100; step++) {
    const alpha = step / 100;
    await page.evaluate((value) => {
      const slider = document.getElementById('alpha-slider');
      slider.value = String(value);
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    }, alpha);
    const winner = await outlined(page);
    assert.equal(winner, expectedWinner(result.candidates, alpha), `winner at α=${alpha}`);
    if (previous !== undefined) {
      const crossed = expectedBreaks.some((a) => a > (step - 1) / 100 && a <= alpha);
      assert.equal(winner !== previous, crossed, `winner changes between α=${(step - 1) / 100} and ${alpha} only across a breakpoint`);
    }
    previous = winner;
  }

  // result.json downloads, parses and matches the job's record.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-list a[download$="result.json"]')]);
  const saved = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Result;
  assert.deepEqual(saved, done.result);

  // The past job by its URL in a new page: the record, the scores, the winner, the history back in the form.
  const { page: again, problems: againProblems } = await newPage();
  await again.goto(`${server.url}/jobs/${id}`);
  await again.waitForSelector('#alpha-panel:not([hidden])');
  assert.equal(await again.textContent('#job-state'), 'done');
  assert.equal(await outlined(again), result.chosen);
  assert.equal(await again.locator('#history-list li').count(), 4);
  assert.equal(await again.inputValue('#target-title'), 'Heat');
  assert.ok(((await again.textContent('#recent-list')) ?? '').includes(id), 'the job is in the recent jobs');

  const shot = process.env.PMG_SERVE_SCREENSHOT;
  if (shot) {
    await again.$eval('#job', (section) => (section as unknown as { scrollIntoView(o: unknown): void }).scrollIntoView({ block: 'start' }));
    await again.screenshot({ path: shot });
  }
  assert.deepEqual([...problems, ...againProblems], []);
  await page.close();
  await again.close();
});

/** Press Tab until the element with this id has the focus (at most 200 presses). */
async function tabTo(page: Page, id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await page.evaluate(() => document.activeElement?.id ?? '')) === id) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached #${id}`);
}

test('keyboard only: pick a user, generate, move the α slider with the arrow keys', { skip, timeout: 180_000 }, async () => {
  const { page, problems } = await newPage();
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#user-select option');
  await tabTo(page, 'user-filter');
  await page.keyboard.type('10');
  await page.waitForFunction(() => document.getElementById('user-count').textContent === '1');
  await tabTo(page, 'user-select');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#history-list li') !== null);
  assert.equal(await page.inputValue('#target-title'), 'Toys');
  // Remove the only history item with the keyboard, then add one by title.
  await tabTo(page, 'new-item-title');
  await page.keyboard.type('Alien');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#history-list li').count(), 2);
  await tabTo(page, 'history-title-0');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.$$eval('#history-list input', (inputs) => inputs.map((i) => (i as unknown as { value: string }).value)), ['Alien']);
  await tabTo(page, 'steps');
  await page.keyboard.type('3');
  await tabTo(page, 'size');
  await page.keyboard.type('64');
  await tabTo(page, 'generate');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/jobs\/j_[a-z2-7]{20}$/);
  await page.waitForSelector('#alpha-panel:not([hidden])', { timeout: 120_000 });
  const id = page.url().split('/').pop()!;
  assert.notEqual(id, firstJob);
  const result = (await record(id)).result as Result;
  await tabTo(page, 'alpha-slider');
  const before = Number(await page.inputValue('#alpha-slider'));
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  const moved = Number(await page.inputValue('#alpha-slider'));
  assert.ok(Math.abs(moved - Math.min(1, Math.round(before * 100 + 2) / 100)) < 1e-9, `α moved from ${before} to ${moved}`);
  assert.equal(await outlined(page), expectedWinner(result.candidates, moved));
  assert.equal(await page.textContent('#alpha-value'), moved.toFixed(2));
  // Focus is visible: the focused slider has an outline.
  const outline = await page.$eval('#alpha-slider', (e) => getComputedStyle(e).outlineStyle);
  assert.equal(outline, 'solid');
  assert.deepEqual(problems, []);
  await page.close();
});

test('compare methods: the same user, target and seed with target-only, keywords, soft and pmg, side by side', { skip, timeout: 180_000 }, async () => {
  const { page, problems } = await newPage();
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#user-select option');
  await page.click('#user-use');
  await page.waitForFunction(() => document.querySelector('#history-list li') !== null);
  assert.deepEqual(await page.$$eval('#soft-module option', (list) => list.map((o) => o.getAttribute('value'))), ['', 'fixture-soft']);
  await page.selectOption('#soft-module', 'fixture-soft');
  await page.fill('#steps', '2');
  await page.fill('#size', '64');
  await page.check('#compare');
  await page.click('#generate');
  await page.waitForFunction(() => document.querySelectorAll('#compare-columns article[data-job]').length === 4);
  const columns = await page.$$eval('#compare-columns article', (list) => list.map((a) => [a.getAttribute('data-method'), a.getAttribute('data-job')]));
  assert.deepEqual(
    columns.map(([method]) => method),
    ['target-only', 'keywords', 'soft', 'pmg'],
  );
  for (const [method, id] of columns) {
    await page.waitForFunction((job) => document.querySelector(`#compare-columns article[data-job="${job}"] img[src$="/images/best.png"]`) !== null, id, {
      timeout: 120_000,
    });
    const done = await record(id!);
    assert.equal(done.state, 'done', `${method}: ${JSON.stringify(done.error)}`);
    const job = done.job as { method: string; seed: number; target: { item: { title: string } }; soft?: { module: string } };
    assert.equal(job.method, method);
    assert.equal(job.target.item.title, 'Heat');
    assert.equal(job.soft?.module, method === 'soft' || method === 'pmg' ? 'fixture-soft' : undefined);
    const link = await page.$eval(`#compare-columns article[data-job="${id}"] a.job-link`, (a) => a.getAttribute('href'));
    assert.equal(link, `/jobs/${id}`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test(
  'with PMG_API_KEY: the page asks for the key once, sends it (header, ?access_token=, images as blobs); uploads join the history',
  { skip, timeout: 180_000 },
  async () => {
    const { page, problems } = await newPage();
    await page.goto(`${keyed.url}/`);
    await page.waitForSelector('#key-form:not([hidden])');
    assert.match((await page.textContent('#server-line')) ?? '', /API key/);
    await page.fill('#api-key', API_KEY);
    await page.press('#api-key', 'Enter');
    await page.waitForSelector('#key-form', { state: 'hidden' });
    await page.waitForFunction(() => (document.getElementById('server-line').textContent ?? '').startsWith('Models:'));
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('pmg-api-key')),
      API_KEY,
    );
    assert.equal(await page.isVisible('#dataset-panel'), false, 'no --data, no dataset panel');

    const png = new PNG({ width: 16, height: 16 });
    png.data.fill(200);
    await page.setInputFiles('#upload', { name: 'poster.png', mimeType: 'image/png', buffer: PNG.sync.write(png) });
    await page.waitForFunction(() => document.querySelector('#history-list li') !== null);
    assert.equal(await page.inputValue('#history-title-0'), 'poster');
    assert.equal(await page.getAttribute('#history-list img', 'alt'), 'Uploaded image poster.png');
    await page.fill('#new-item-title', 'Heat');
    await page.click('#new-item-add');
    // No target yet: the server's field error is shown as text at the target's field.
    await page.click('#generate');
    await page.waitForSelector('.field-error');
    const error = await page.$eval('.field-error', (p) => ({
      text: p.textContent ?? '',
      after: (p as unknown as { previousElementSibling: { getAttribute(n: string): string } }).previousElementSibling.getAttribute('data-field'),
    }));
    assert.equal(error.after, 'target');
    assert.match(error.text, /^target/);
    assert.equal(await page.getAttribute('#target-title', 'aria-invalid'), 'true');
    assert.equal(page.url(), `${keyed.url}/`);
    await page.fill('#target-title', 'Alien');
    await page.fill('#target-description', 'a crew meets a creature');
    await page.fill('#steps', '2');
    await page.fill('#size', '64');
    await page.click('#generate');
    await page.waitForURL(/\/jobs\/j_[a-z2-7]{20}$/);
    await page.waitForSelector('#alpha-panel:not([hidden])', { timeout: 120_000 });
    const id = page.url().split('/').pop()!;
    const done = (await (await fetch(`${keyed.url}/v1/generations/${id}`, { headers: { Authorization: `Bearer ${API_KEY}` } })).json()) as JobRecord;
    const job = done.job as { history: { items: { title: string; image?: string }[] }; target: { item: { title: string; description: string } } };
    assert.equal(job.history.items[0]!.title, 'poster');
    assert.ok(job.history.items[0]!.image!.startsWith(join(fx.root, 'data', 'uploads')), job.history.items[0]!.image);
    assert.deepEqual(job.target.item, { title: 'Alien', description: 'a crew meets a creature' });
    // Images come through fetch with the key, shown from blob: URLs, and load.
    await page.waitForFunction(
      () =>
        [...(document as unknown as { images: { src: string; complete: boolean; naturalWidth: number }[] }).images].filter(
          (i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0,
        ).length >= 3,
    );
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-list a[download$="result.json"]')]);
    assert.deepEqual(JSON.parse(readFileSync((await download.path())!, 'utf8')), done.result);
    // Before the key: 401s; without --data: GET /v1/datasets is 404 (the page hides the dataset panel).
    assert.deepEqual(
      problems.filter((p) => !p.startsWith('401 /v1/') && p !== '404 /v1/datasets' && p !== '400 /v1/generations'),
      [],
    );
    assert.ok(problems.includes('401 /v1/models'));
    await page.close();
  },
);
