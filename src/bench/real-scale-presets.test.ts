import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallTiming } from './real-scale.js';
import { presetEstimates } from './real-scale-presets.js';

const call = (model: string, size: number, batch: number, medianSeconds: number): CallTiming => ({
  model,
  label: model,
  size,
  batch,
  medianSeconds,
  samples: [medianSeconds],
  rssBeforeBytes: 0,
  peakRssBytes: 0,
});

test('fast and paper estimates follow the presets: steps × one UNet call per row + a decode per candidate + text calls', () => {
  const calls = [
    call('text_encoder', 0, 1, 0.25),
    call('unet', 512, 1, 5),
    call('unet', 512, 2, 9.5),
    call('unet', 512, 4, 21.6),
    call('vae_decoder', 512, 1, 13.4),
  ];
  const [fast, paper] = presetEstimates(calls);
  // fast: SD-Turbo, 1 step, no guidance: 2 rows (the candidates), one call each on a CPU.
  assert.equal(fast!.unetBatch, 2);
  assert.equal(fast!.seconds, 1 * 2 * 5 + 2 * 13.4 + 2 * 0.25);
  assert.equal(fast!.formula, '1 × 2 × UNet(512 px, batch 1) + 2 × VAE decode(512 px) + 2 × text encoder');
  // paper: 30 steps, guidance 9: 4 rows (2 candidates × 2 halves); the negative prompt is one more text call.
  assert.equal(paper!.unetBatch, 4);
  assert.equal(paper!.seconds, 30 * 4 * 5 + 2 * 13.4 + 3 * 0.25);
  assert.deepEqual(paper!.parts, { unet: 30 * 4 * 5, vaeDecode: 2 * 13.4, textEncoder: 3 * 0.25 });
});

test('a size that was not measured gives no figure', () => {
  const [none] = presetEstimates([call('unet', 256, 1, 1.6)], { names: ['paper'] });
  assert.ok(Number.isNaN(none!.seconds));
  assert.equal(none!.missing, 'UNet at 512 px, VAE decode at 512 px, text encoder not measured (add 512 to --sizes)');
});

test("a preset can be estimated with another decoder's rows (a tiny decoder, say)", () => {
  const calls = [call('text_encoder', 0, 1, 0.25), call('unet', 512, 1, 5), call('vae_decoder', 512, 1, 13.4), call('tiny_decoder', 512, 1, 0.5)];
  const [fast, paper] = presetEstimates(calls, { decoders: { fast: 'tiny_decoder' } });
  assert.equal(fast!.decoder, 'tiny_decoder');
  assert.equal(fast!.parts.vaeDecode, 2 * 0.5);
  assert.match(fast!.formula, /2 × tiny_decoder decode\(512 px\)/);
  assert.equal(paper!.decoder, 'vae_decoder');
});
