import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchDiffusion, formatDiffusionBench } from './diffusion.js';

test('the diffusion benchmark runs on a tiny setting and reports every figure', async () => {
  const result = await benchDiffusion({ steps: 2, width: 32, height: 32, repeats: 1, generations: 4, unetScale: 1, scheduler: 'ddim', threads: 1 });
  assert.ok(result.imageMs > 0 && result.onnxRunMs > 0 && result.onnxRunMs <= result.imageMs);
  assert.ok(result.outsideShare >= 0 && result.outsideShare < 1);
  assert.ok(result.batch2Ms > 0 && result.twoBatch1Ms > 0);
  assert.ok(result.rssAfterNMiB > 0);
  const text = formatDiffusionBench(result, 'pmg bench diffusion --test');
  assert.match(text, /^command: pmg bench diffusion --test$/m);
  assert.match(text, /machine: .*\d+ cores/);
  assert.match(text, /outside onnxruntime run: +\d+\.\d\d %/);
  assert.ok(result.vaeDecodeMs > 0 && result.tinyDecoder.ms > 0);
  assert.equal(result.tinyDecoder.width, 'real');
  assert.ok(Math.abs(result.tinyDecoder.gflop - 0.5522) < 1e-3, `TAESD at 32 px: ${result.tinyDecoder.gflop} GFLOP (141.4 at 512 px, scaled by (32/512)^2)`);
  assert.match(text, /^decode 1 image, tiny decoder: +\d+\.\d ms \(TAESD's real architecture, 0\.6 GFLOP at 32 px, \d+ GFLOP\/s\)$/m);
});
