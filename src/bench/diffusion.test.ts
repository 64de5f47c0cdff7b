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
});
