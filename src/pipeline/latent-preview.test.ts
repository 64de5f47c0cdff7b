import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VaeDecoder } from '../spec/diffusion-models.js';
import { checkPreviewScale, decodePreview, effectivePreviewScale, poolLatents, repeatPixels } from './latent-preview.js';

test('poolLatents averages s x s blocks per channel', () => {
  // [1, 2, 2, 4]: channel 0 = 0..7, channel 1 = 10 x that
  const data = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 0, 10, 20, 30, 40, 50, 60, 70]);
  const pooled = poolLatents({ data, dims: [1, 2, 2, 4] }, 2);
  assert.deepEqual(pooled.dims, [1, 2, 1, 2]);
  assert.deepEqual(Array.from(pooled.data), [2.5, 4.5, 25, 45]);
  assert.equal(poolLatents({ data, dims: [1, 2, 2, 4] }, 1).data, data);
  assert.throws(() => poolLatents({ data, dims: [1, 2, 2, 4] }, 4), /cannot be pooled by 4/);
});

test('repeatPixels repeats each pixel s x s', () => {
  const up = repeatPixels({ data: Float32Array.from([1, 2]), dims: [1, 1, 1, 2] }, 2);
  assert.deepEqual(up.dims, [1, 1, 2, 4]);
  assert.deepEqual(Array.from(up.data), [1, 1, 2, 2, 1, 1, 2, 2]);
});

test('the preview scale is lowered until the pooled latent is at least 8x8 and divides evenly', () => {
  assert.equal(effectivePreviewScale(2, 64, 64), 2);
  assert.equal(effectivePreviewScale(4, 64, 64), 4);
  assert.equal(effectivePreviewScale(4, 16, 16), 2);
  assert.equal(effectivePreviewScale(2, 8, 8), 1);
  assert.equal(effectivePreviewScale(4, 64, 42), 2, '42 is not divisible by 4');
  assert.equal(effectivePreviewScale(2, 63, 64), 1);
  assert.equal(effectivePreviewScale(1, 64, 64), 1);
  assert.equal(checkPreviewScale(4), 4);
  assert.throws(() => checkPreviewScale(3), /must be 1, 2 or 4, got 3/);
});

test('decodePreview decodes the pooled latents and returns full-size images', async () => {
  const seen: number[][] = [];
  const vae: VaeDecoder = {
    scalingFactor: 0.5,
    async decode(latents) {
      seen.push(latents.dims);
      const [k, , h, w] = latents.dims as [number, number, number, number];
      return { data: new Float32Array(k * 3 * h * 8 * w * 8).fill(latents.data[0]!), dims: [k, 3, h * 8, w * 8] };
    },
  };
  const latents = { data: new Float32Array(4 * 16 * 16).fill(0.25), dims: [1, 4, 16, 16] };
  const preview = await decodePreview(vae, latents);
  assert.equal(preview.scale, 2);
  assert.deepEqual(seen, [[1, 4, 8, 8]]);
  assert.deepEqual(preview.images.dims, [1, 3, 128, 128]);
  assert.equal(preview.images.data[0], 0.5, 'latents divided by the scaling factor before the VAE');
  const small = await decodePreview(vae, latents, { scale: 2, fullSize: false });
  assert.deepEqual(small.images.dims, [1, 3, 64, 64]);
});
