import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { assetPath } from '../../core/package-root.js';
import { writeTinyLpips } from '../../fixtures/tiny-lpips.js';
import { runCli, type CliRun } from '../../testing/run-cli.js';
import reference from '../../metrics/reference/ssim.json' with { type: 'json' };
import lpipsReference from '../../metrics/reference/lpips.json' with { type: 'json' };

let dir = '';
const img = (name: string) => assetPath('test-data', 'metrics', name);

function run(args: string[]): Promise<CliRun> {
  return runCli(args, { cwd: dir, env: { PMG_CACHE_DIR: join(dir, 'cache'), PMG_OFFLINE: '1' } });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmg-metrics-cli-'));
  await writeTinyLpips(join(dir, 'lpips'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('pmg metrics --metric ssim prints the skimage value; --json gives per-reference values', async () => {
  const text = await run(['metrics', '--metric', 'ssim', img('a.png'), img('b.png')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`ssim: ${reference.ssim[0]!.ssim_rgb.toFixed(4)}`));
  const json = await run(['metrics', '--metric', 'ssim', '--json', img('a.png'), img('b.png'), img('c.png')]);
  const parsed = JSON.parse(json.stdout) as { values: { value: number }[]; value: number };
  assert.equal(parsed.values.length, 2);
  assert.ok(Math.abs(parsed.values[1]!.value - reference.ssim[1]!.ssim_rgb) < 1e-9);
});

test('transparent pixels are composited over white, and pmg metrics says so (RGBA PNG)', async () => {
  // Fully transparent black with one opaque red pixel, against the same picture drawn on white.
  const rgba = Buffer.alloc(20 * 20 * 4);
  rgba.set([255, 0, 0, 255], 0);
  const white = Buffer.alloc(20 * 20 * 3, 255);
  white.set([255, 0, 0], 0);
  await sharp(rgba, { raw: { width: 20, height: 20, channels: 4 } })
    .png()
    .toFile(join(dir, 'rgba.png'));
  await sharp(white, { raw: { width: 20, height: 20, channels: 3 } })
    .png()
    .toFile(join(dir, 'white.png'));
  const text = await run(['metrics', '--metric', 'ssim', join(dir, 'rgba.png'), join(dir, 'white.png')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^ssim \(higher is closer; transparent pixels are composited over white\)\n/);
  assert.match(text.stdout, /\nssim: 1\.0000 \(value\)\n$/);
  const json = JSON.parse((await run(['metrics', '--metric', 'ssim', '--json', join(dir, 'rgba.png'), join(dir, 'white.png')])).stdout) as {
    value: number;
    transparency: string;
  };
  assert.equal(json.value, 1);
  assert.equal(json.transparency, 'transparent pixels are composited over white');
});

test('pmg metrics --metric lpips with a local fixture folder', async () => {
  const r = await run(['metrics', '--metric', 'lpips', '--model', join(dir, 'lpips'), '--json', img('a.png'), img('b.png')]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Math.abs((JSON.parse(r.stdout) as { value: number }).value - lpipsReference.lpips[0]!.lpips) < 1e-4);
});

test('bad inputs give one clear line each', async () => {
  const unknown = await run(['metrics', '--metric', 'psnr', img('a.png'), img('b.png')]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, "pmg: unknown metric 'psnr'; known metrics: ssim, ms-ssim, lpips, clip-t, clip-i, dino, fid\n");
  const missing = await run(['metrics', '--metric', 'ssim', img('a.png'), join(dir, 'nope.png')]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /^pmg: image or folder .*nope\.png does not exist\n$/);
  const small = await run(['metrics', '--metric', 'ms-ssim', img('a.png'), img('b.png')]);
  assert.match(small.stderr, /^pmg: MS-SSIM needs images of at least 161x161 pixels, got 48x40\n$/);
  const noText = await run(['metrics', '--metric', 'clip-t', img('a.png')]);
  assert.equal(noText.stderr, "pmg: metric 'clip-t' needs --text\n");
});
