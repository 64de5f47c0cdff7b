import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assetPath } from '../core/package-root.js';
import { readImageRgb, resizeRgb } from '../core/image-io.js';
import { PmgError } from '../errors/pmg-error.js';
import { gaussianTaps, ssim } from './ssim.js';
import { MS_SSIM_MIN_SIDE, averagePool2, msSsim, pytorchMsssimTaps } from './ms-ssim.js';
import reference from './reference/ssim.json' with { type: 'json' };
import msReference from './reference/ms-ssim.json' with { type: 'json' };

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
  for (const row of reference.ssim_large) {
    const [x, y] = await Promise.all([image(row.x), image(row.y)]);
    assert.ok(Math.abs(ssim(x, y) - row.ssim_rgb) < 1e-9, `${row.x} vs ${row.y}`);
  }
});

test('MS-SSIM equals the pytorch_msssim-convention reference within 1e-6, odd sizes included (177x181, 200x300, ...)', async () => {
  const sizes = new Set<string>();
  for (const row of msReference.ms_ssim) {
    const [x, y] = await Promise.all([image(row.x), image(row.y)]);
    assert.equal(x.width, row.width);
    sizes.add(`${x.width}x${x.height}`);
    const rgb = msSsim(x, y);
    const luma = msSsim(x, y, { mode: 'luma' });
    assert.ok(Math.abs(rgb - row.ms_ssim_rgb) < 1e-6, `${row.x} vs ${row.y}: ${rgb} != ${row.ms_ssim_rgb}`);
    assert.ok(Math.abs(luma - row.ms_ssim_luma) < 1e-6, `${row.x} vs ${row.y} luma: ${luma} != ${row.ms_ssim_luma}`);
    // Same window, same float64 arithmetic: in fact equal to rounding.
    assert.ok(Math.abs(rgb - row.ms_ssim_rgb) < 1e-12 && Math.abs(luma - row.ms_ssim_luma) < 1e-12);
  }
  assert.ok(sizes.has('177x181') && sizes.has('200x300'));
});

test("MS-SSIM's window is pytorch_msssim's float32-made Gaussian, bit for bit", () => {
  assert.deepEqual([...pytorchMsssimTaps()], msReference.window);
});

test('average pooling pads an odd side with a zero row/column that counts in the mean (avg_pool2d, padding H%2, W%2)', () => {
  // 3 x 2 (width x height): odd width gets padding 1, even height none.
  const pooled = averagePool2({ width: 3, height: 2, data: Float64Array.of(1, 2, 3, 4, 5, 6) });
  assert.equal(pooled.width, 2);
  assert.equal(pooled.height, 1);
  // Window 0 covers columns -1 (zero) and 0; window 1 columns 1 and 2.
  assert.deepEqual([...pooled.data], [(0 + 1 + 0 + 4) / 4, (2 + 3 + 5 + 6) / 4]);
  const square = averagePool2({ width: 2, height: 2, data: Float64Array.of(1, 2, 3, 4) });
  assert.deepEqual([...square.data], [2.5]);
});

test('MS-SSIM accepts exactly the sizes pytorch_msssim accepts (smaller side > 160) and names the minimum otherwise', async () => {
  const blank = (width: number, height: number) => ({ width, height, data: new Uint8Array(width * height * 3).fill(128) });
  for (const size of msReference.sizes) {
    const img = blank(size.width, size.height);
    if (size.accepted) assert.equal(msSsim(img, img), 1);
    else
      assert.throws(
        () => msSsim(img, img),
        (e: unknown) =>
          e instanceof PmgError && e.code === 'invalid-argument' && new RegExp(`at least 161x161 pixels, got ${size.width}x${size.height}`).test(e.message),
      );
  }
  assert.equal(MS_SSIM_MIN_SIDE, 161);
  const a = await image('a.png');
  assert.throws(() => msSsim(a, a), /at least 161x161/);
});
