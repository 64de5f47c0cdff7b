import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, imageHref, renderDemoPage, type DemoPageInput } from './demo-page.js';

function pageInput(overrides: Partial<DemoPageInput> = {}): DemoPageInput {
  return {
    models: { llm: 'onnx:/m/llm', clip: '/m/clip', sd: '/m/sd' },
    alpha: 2 / 3,
    tiny: false,
    users: [
      {
        user: '7',
        history: [
          { title: 'Tom & Jerry <Special> "Cut"', genres: ['Comedy', 'Animation'], keywords: ['cat', 'mouse'] },
          { title: "Schindler's List", genres: ['Drama'], keywords: [] },
        ],
        target: { title: 'Alien <script>alert(1)</script>', genres: ['Horror'], description: 'In space & no one "hears"' },
        keywords: { preference: ['slapstick & chase', '<b>bold</b>'], target: ['dark', 'space ship'] },
        candidates: [
          {
            weights: { preference: 1, target: 1 },
            prompt: 'movie poster, Alien, <x> & "y"',
            seed: 0,
            dp: 20.5,
            dt: 25.25,
            z: 3.1,
            image: 'user-7/candidate-0.png',
            finished: true,
          },
          { weights: { preference: 2, target: 1 }, prompt: 'p2', seed: 0, dp: 22, dt: 24, z: 3.2, image: 'user-7/candidate-1.png', finished: false },
        ],
        chosen: 1,
        timings: { keywords: 12, total: 1500 },
      },
    ],
    ...overrides,
  };
}

test('renderDemoPage names the decoder of every image and warns when the tiny one made the final images', () => {
  const input = pageInput({ models: { llm: 'l', clip: 'c', sd: 's', decoder: 'julienkay/taesd@abc' }, finalDecoder: 'tiny' });
  input.users[0]!.candidates[0]!.decoder = 'tiny';
  input.users[0]!.candidates[1]!.decoder = 'vae';
  const html = renderDemoPage(input);
  assert.match(html, /<strong>Tiny decoder:<\/strong>/);
  assert.match(html, /Tiny autoencoder \(TAESD\)<\/th><td>julienkay\/taesd@abc/);
  assert.match(html, /Final images decoded by<\/th><td>the tiny autoencoder \(faster, softer detail\)/);
  assert.match(html, /data-candidate="0"[\s\S]*decoded by the tiny autoencoder[\s\S]*data-candidate="1"[\s\S]*decoded by the VAE/);
  const plain = renderDemoPage(pageInput());
  assert.doesNotMatch(plain, /decoded by|Tiny decoder/, 'a page without decoder data says nothing about decoders');
});

test('escapeHtml escapes the five special characters', () => {
  assert.equal(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  assert.equal(escapeHtml(undefined), '');
  assert.equal(imageHref('user 1/candidate-0.png'), 'user%201/candidate-0.png');
});

test('renderDemoPage escapes every text from the data and never emits raw markup from it', () => {
  const html = renderDemoPage(pageInput());
  assert.ok(!html.includes('<script>'), 'a title must not become a script element');
  assert.ok(!html.includes('<b>bold</b>'));
  assert.ok(!html.includes('<Special>'));
  assert.ok(html.includes('Tom &amp; Jerry &lt;Special&gt; &quot;Cut&quot;'));
  assert.ok(html.includes('Alien &lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('Schindler&#39;s List'));
  assert.ok(html.includes('movie poster, Alien, &lt;x&gt; &amp; &quot;y&quot;'));
  assert.ok(html.includes('In space &amp; no one &quot;hears&quot;'));
});

test('renderDemoPage shows every candidate with its scores and marks only the chosen one', () => {
  const html = renderDemoPage(pageInput());
  const figures = html.match(/<figure class="candidate[^"]*"[^>]*>/g) ?? [];
  assert.equal(figures.length, 2);
  assert.match(figures[0]!, /data-chosen="false"/);
  assert.match(figures[1]!, /class="candidate chosen"/);
  assert.match(figures[1]!, /data-chosen="true"/);
  assert.equal((html.match(/Chosen \(largest z\)/g) ?? []).length, 1);
  assert.ok(html.includes('src="user-7/candidate-0.png"'));
  assert.ok(html.includes('src="user-7/candidate-1.png"'));
  assert.ok(html.includes('<td>20.50</td><td>25.25</td><td class="z">3.1000</td>'));
  assert.ok(html.includes('stopped early'));
  // every image has a non-empty alt text; tables have header cells
  for (const img of html.match(/<img [^>]*>/g) ?? []) assert.match(img, /alt="[^"]+"/);
  assert.ok(html.includes('<th scope="col">Title</th>'));
  assert.ok(html.includes('0.6667'), 'alpha shown');
  assert.ok(!html.includes('Tiny mode'));
});

test('renderDemoPage says in tiny mode that the images are noise from random-weight models', () => {
  const html = renderDemoPage(pageInput({ tiny: true, preset: undefined }));
  assert.match(html, /Tiny mode:<\/strong> these images are noise/);
  assert.match(html, /random-weight fixture models/);
  const withPreset = renderDemoPage(pageInput({ preset: 'fast' }));
  assert.match(withPreset, /preset <strong>fast<\/strong>/);
});

test('renderDemoPage is deterministic and self-contained (no external URLs, no scripts)', () => {
  const a = renderDemoPage(pageInput());
  assert.equal(a, renderDemoPage(pageInput()));
  assert.ok(a.startsWith('<!doctype html>'));
  assert.ok(!/<script|<link |https?:\/\/[^\s"<]*\.(css|js)/.test(a));
});

test('renderDemoPage: with a soft module, the methods side by side (escaped), and no such row without one', () => {
  const input = pageInput({ soft: 'fx/soft <P 4>' });
  input.users[0]!.methods = [
    { method: 'target-only', label: 'target-only', image: 'user-7/target-only/candidate-0.png', prompt: 'a & b', contextTokens: 77, dp: 20, dt: 25, z: 3 },
    { method: 'soft', label: 'soft <tokens>', image: 'user-7/soft/candidate-0.png', prompt: 'p', contextTokens: 81, dp: 21, dt: 24, z: 3.1 },
  ];
  const html = renderDemoPage(input);
  assert.match(html, /<th scope="row">Soft module<\/th><td>fx\/soft &lt;P 4&gt;<\/td>/);
  assert.match(html, /data-method="target-only"[\s\S]*<td>77<\/td>[\s\S]*data-method="soft"[\s\S]*soft &lt;tokens&gt;[\s\S]*<td>81<\/td>/);
  assert.match(html, /src="user-7\/soft\/candidate-0\.png"/);
  assert.doesNotMatch(renderDemoPage(pageInput()), /Methods side by side|Soft module/);
});
