import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import type { RgbImage } from '../core/image-io.js';
import type { ClipImageInput } from '../runtime/transformers-models.js';
import { clipLogit, keywordText, scoreCandidates } from './clip-scorer.js';

test('clipLogit is 100 x cosine, scale-free', () => {
  assert.equal(clipLogit(Float32Array.of(1, 0), Float32Array.of(2, 0)), 100);
  assert.ok(Math.abs(clipLogit(Float32Array.of(1, 1), Float32Array.of(0, 3)) - 100 / Math.SQRT2) < 1e-9);
  assert.equal(clipLogit(Float32Array.of(1, 0), Float32Array.of(-1, 0)), -100);
  assert.throws(() => clipLogit(Float32Array.of(1), Float32Array.of(1, 2)), /embedding/);
});

test('scoreCandidates: one image call for all candidates, one text call for both texts, dp/dt per image', async () => {
  const calls: string[] = [];
  const fake = {
    async embedTexts(texts: readonly string[]) {
      calls.push(`texts:${texts.join('|')}`);
      return texts.map((t) => (t.startsWith('dark') ? Float32Array.of(1, 0) : Float32Array.of(0, 1)));
    },
    async embedImages(images: readonly ClipImageInput[]) {
      calls.push(`images:${images.length}`);
      // embedding = (red, green) of the first pixel
      return images.map((im) => {
        const raw = im as RgbImage; // scoreCandidates decodes PNGs to 8-bit RGB first
        return Float32Array.of(raw.data[0]!, raw.data[1]!);
      });
    },
  };
  const red = { width: 1, height: 1, data: Uint8Array.of(255, 0, 0) };
  const png = new PNG({ width: 1, height: 1 });
  png.data.set([0, 200, 0, 255]);
  const green = PNG.sync.write(png);
  const scores = await scoreCandidates(fake, [red, green], { target: keywordText(['dark', ' space']), preference: keywordText(['noir']) });
  assert.deepEqual(calls, ['images:2', 'texts:dark, space|noir']);
  assert.deepEqual(scores.dt, [100, 0]);
  assert.deepEqual(scores.dp, [0, 100]);
  assert.equal(keywordText([' a ', '', 'b']), 'a, b');
});
