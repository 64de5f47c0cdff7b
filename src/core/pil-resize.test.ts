import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assetPath } from './package-root.js';
import { readImageRgb } from './image-io.js';
import { imageDifference } from '../testing/image-difference.js';
import { pilResize, resampleCoefficients, type PilFilter } from './pil-resize.js';
import reference from './reference/pil-resize.json' with { type: 'json' };

const input = (name: string) => readImageRgb(assetPath('test-data', 'clip', name));
const expected = (name: string) => readImageRgb(assetPath('test-data', 'clip', 'expected', name));

test("pilResize equals Pillow 9.4's Image.resize (bicubic, bilinear, box, hamming, lanczos; up and down)", async () => {
  for (const c of reference.cases) {
    const out = pilResize(await input(c.image), c.width, c.height, c.filter as PilFilter);
    const { mean, max } = imageDifference(out, await expected(c.expected));
    assert.ok(mean <= 0.5 && max <= 2, `${c.expected}: mean ${mean}, max ${max}`);
    // The same integer arithmetic as Pillow's: in fact identical.
    assert.equal(max, 0, `${c.expected} differs by up to ${max}`);
  }
});

test('shrinking stretches the kernel (antialiasing); enlarging keeps the 4-tap bicubic; same size is a copy', () => {
  const down = resampleCoefficients(100, 25, 'bicubic');
  assert.equal(down.ksize, 2 * 8 + 1); // support 2 x 4
  assert.equal(down.count[12], 16);
  const up = resampleCoefficients(25, 100, 'bicubic');
  assert.equal(up.ksize, 5);
  assert.ok(up.count[50]! <= 5);
  // Integer weights with 22 fraction bits that sum to about 2^22.
  const sum = Array.from({ length: down.count[12]! }, (_, i) => down.weights[12 * down.ksize + i]!).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 2 ** 22) <= down.count[12]!);
  const image = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 10) };
  const copy = pilResize(image, 3, 2);
  assert.deepEqual(copy, image);
  assert.notEqual(copy.data, image.data);
});
