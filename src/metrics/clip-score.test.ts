import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RgbImage } from '../core/image-io.js';
import { clipScoreOfSet, clipTextScoreSet, clipTextScores, type ClipEmbedder } from './clip-score.js';

/** Image embedding = (first red value - 128, 50); text embedding = (0, 1): the cosine depends on the red value. */
const fake: ClipEmbedder = {
  async embedTexts(texts) {
    return texts.map(() => Float32Array.of(0, 1));
  },
  async embedImages(images) {
    return images.map((image) => Float32Array.of(0, ((image as RgbImage).data[0]! - 128) / 50));
  },
};
const pixel = (red: number): RgbImage => ({ width: 1, height: 1, data: Uint8Array.of(red, 0, 0) });

test('CLIP-T clamps as torchmetrics: each pair max(100 cos, 0); a set max(mean of 100 cos, 0), the clamp after the mean', async () => {
  // cos = -1 for red 78 (image embedding (0, -1)), +1 for red 178.
  const images = [pixel(78), pixel(78), pixel(178)];
  assert.deepEqual(await clipTextScores(fake, images, 'x', { clamp: false }), [-100, -100, 100]);
  assert.deepEqual(await clipTextScores(fake, images, 'x'), [0, 0, 100]);
  const set = await clipTextScoreSet(fake, images, 'x');
  assert.deepEqual(set.values, [0, 0, 100]);
  // torchmetrics: max(mean(-100, -100, 100), 0) = 0, not the mean of the clamped values (33.3).
  assert.equal(set.value, 0);
  assert.equal(clipScoreOfSet([-10, 40]), 15);
  assert.throws(() => clipScoreOfSet([]), /empty set/);
});
