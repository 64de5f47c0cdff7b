import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assetPath } from '../core/package-root.js';
import { readImageRgb, resizeRgb } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { gaussianTaps, ssim } from './ssim.js';
import { msSsim } from './ms-ssim.js';
import reference from './reference/ssim.json' with { type: 'json' };

const image = (name: string) => readImageRgb(assetPath('test-data', 'metrics', name));

test('Gaussian window is 11 taps (sigma 1.5, truncate 3.5), symmetric, sums to 1', () => {
  const taps = gaussianTaps();
  assert.equal(taps.length, 11);
  assert.ok(Math.abs(taps.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  assert.equal(taps[0], taps[10]);
  assert.ok(taps[5]! > taps[4]!);
});

test('SSIM equals scikit-image structural_similarity within 1e-4 (rgb and luma)', async () => {
  for (const row of reference.ssim) {
    const [x, y] = await Promise.all([image(row.x), image(row.y)]);
    const rgb = ssim(x, y);
    const luma = ssim(x, y, { mode: 'luma' });
    assert.ok(Math.abs(rgb - row.ssim_rgb) < 1e-4, `${row.x} vs ${row.y}: ${rgb} != ${row.ssim_rgb}`);
    assert.ok(Math.abs(luma - row.ssim_luma) < 1e-4, `${row.x} vs ${row.y} luma: ${luma} != ${row.ssim_luma}`);
    // Float64 throughout: in fact far closer than the tolerance.
    assert.ok(Math.abs(rgb - row.ssim_rgb) < 1e-9);
  }
});

test('SSIM on the large pair also matches skimage (no hidden downsampling)', async () => {
  for (const row of reference.ms_ssim) {
    const [x, y] = await Promise.all([image(row.x), image(row.y)]);
    assert.ok(Math.abs(ssim(x, y) - row.ssim_rgb) < 1e-9, `${row.x} vs ${row.y}`);
  }
});

test('MS-SSIM matches the numpy reference of the documented convention', async () => {
  for (const row of reference.ms_ssim) {
    const [x, y] = await Promise.all([image(row.x), image(row.y)]);
    assert.ok(Math.abs(msSsim(x, y) - row.ms_ssim_rgb) < 1e-6, `${row.x} vs ${row.y}: ${msSsim(x, y)} != ${row.ms_ssim_rgb}`);
    assert.ok(Math.abs(msSsim(x, y, { mode: 'luma' }) - row.ms_ssim_luma) < 1e-6);
  }
});

test('different sizes are refused with one clear line; resized images work', async () => {
  const [a, big] = await Promise.all([image('a.png'), image('big-a.png')]);
  assert.throws(() => ssim(a, big), (e: unknown) => e instanceof PmgError && e.code === 'invalid-argument' && /same size.*48x40 and 192x180/.test(e.message));
  const small = await resizeRgb(big, a.width, a.height);
  assert.equal(small.width, 48);
  const value = ssim(small, a);
  assert.ok(value > -1 && value < 1);
});

test('MS-SSIM refuses images smaller than 176 pixels a side', async () => {
  const a = await image('a.png');
  assert.throws(() => msSsim(a, a), /at least 176x176/);
});
