/**
 * The demo page in a real browser: Debian's Chromium driven by playwright-core (never downloads a browser).
 * Skipped only when /usr/bin/chromium is missing (install it with `apt-get install -y chromium`).
 * Set PMG_DEMO_SCREENSHOT=/path.png to keep a full-page screenshot for a look.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '../testing/run-cli.js';

// Browser globals used inside page callbacks (this project compiles without the DOM lib).
declare const getComputedStyle: (element: unknown) => { borderTopColor: string };
declare const document: { documentElement: { scrollWidth: number } };
declare const window: { innerWidth: number };

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'pmg-demo-browser-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('the demo page loads every image in Chromium and marks the chosen candidates', { skip, timeout: 60_000 }, async () => {
  const out = join(root, 'out');
  const { code } = await runCli(['demo', '--tiny', '--out', out], { cwd: root, env: { PMG_CACHE_DIR: join(root, 'cache'), PMG_OFFLINE: '1' } });
  assert.equal(code, 0);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    await page.goto(pathToFileURL(join(out, 'index.html')).href, { waitUntil: 'load' });
    const images = await page.$$eval('img', (list) =>
      list.map((img) => ({ src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0, alt: img.alt })),
    );
    assert.ok(images.length >= 6, `expected 3 users x 2 candidates, got ${images.length} images`);
    for (const image of images) {
      assert.ok(image.ok, `image ${image.src} did not load`);
      assert.ok(image.alt.length > 10, `image ${image.src} has an alt text`);
    }
    assert.deepEqual(failed, []);

    const sections = await page.$$eval('section.user', (list) =>
      list.map((section) => ({
        chosen: [...section.querySelectorAll('figure.candidate.chosen')].map((f) => Number(f.getAttribute('data-candidate'))),
        chosenBorder: getComputedStyle(section.querySelector('figure.candidate.chosen')!).borderTopColor,
        otherBorder: getComputedStyle(section.querySelector('figure.candidate:not(.chosen)') ?? section).borderTopColor,
        badge: section.querySelector('figure.candidate.chosen .badge')?.textContent ?? '',
      })),
    );
    const users = readdirSync(out).filter((n) => n.startsWith('user-'));
    assert.equal(sections.length, users.length);
    const expected = new Set(users.map((u) => (JSON.parse(readFileSync(join(out, u, 'result.json'), 'utf8')) as { chosen: number }).chosen));
    for (const section of sections) {
      assert.equal(section.chosen.length, 1, 'exactly one chosen candidate per user');
      assert.ok(expected.has(section.chosen[0]!));
      assert.notEqual(section.chosenBorder, section.otherBorder, 'the chosen candidate looks different');
      assert.match(section.badge, /Chosen/);
    }
    // Readable on a laptop: nothing wider than the window.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a 1366px window`);
    const shot = process.env.PMG_DEMO_SCREENSHOT;
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await browser.close();
  }
});
