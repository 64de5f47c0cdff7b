/**
 * The decoders in textToImage: the final images from the VAE or the tiny autoencoder through the same decodeLatents,
 * and live step previews (tiny decoder at full size when there is one, else the VAE on pooled x0).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { writeTinyAutoencoder } from '../fixtures/tiny-taesd.js';
import { loadStableDiffusion, type OnnxStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { loadTinyDecoder } from '../providers/image/tiny-decoder.js';
import { SessionPool } from '../runtime/onnx-session.js';
import type { VaeDecoder } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';
import { poolLatents, repeatPixels } from './latent-preview.js';
import { checkPreviewEvery, type StepPreview } from './step-preview.js';
import { decodeLatents } from './decode-latents.js';
import { textToImage, type TextToImageRequest } from './text-to-image.js';

let root: string;
const pool = new SessionPool({ intraOpThreads: 1 });
let sd: OnnxStableDiffusion;
let tiny: VaeDecoder;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-step-preview-'));
  sd = await loadStableDiffusion(writeTinySd(join(root, 'sd')), { pool, warn: () => undefined });
  tiny = (await loadTinyDecoder(writeTinyAutoencoder(join(root, 'taesd')), { pool })).decoder;
});
after(async () => {
  await pool.releaseAll();
  rmSync(root, { recursive: true, force: true });
});

const request: TextToImageRequest = {
  candidates: [{ prompt: 'a cat' }, { prompt: 'a dog' }],
  steps: 4,
  width: 64,
  height: 64,
  guidanceScale: 2,
  scheduler: 'ddim',
  seed: 5,
  warn: () => undefined,
};

/** A decoder that records the latents it was given and delegates to `inner`. */
function spy(inner: VaeDecoder, seen: FloatTensor[]): VaeDecoder {
  return {
    scalingFactor: inner.scalingFactor,
    decode: (latents) => (seen.push({ data: latents.data.slice(), dims: [...latents.dims] }), inner.decode(latents)),
  };
}

const same = (a: FloatTensor, b: FloatTensor): boolean => a.dims.join() === b.dims.join() && a.data.every((v, i) => v === b.data[i]);

test('final images: the VAE by default, the tiny decoder when asked, through the same decodeLatents; the latents do not change', async () => {
  const vae = await textToImage(sd, request);
  const small = await textToImage(sd, { ...request, tinyDecoder: tiny, finalDecoder: 'tiny' });
  assert.equal(vae.decoder, 'vae');
  assert.equal(small.decoder, 'tiny');
  assert.ok(same(vae.latents, small.latents), 'the decoder does not touch the denoising');
  assert.ok(same(small.images, await decodeLatents(tiny, small.latents)));
  assert.ok(same(vae.images, await decodeLatents(sd.vaeDecoder, vae.latents)));
  assert.ok(!same(vae.images, small.images));
  assert.deepEqual(small.images.dims, [2, 3, 64, 64]);
  // The tiny decoder only for previews: the final images stay the VAE's.
  const withTiny = await textToImage(sd, { ...request, tinyDecoder: tiny });
  assert.ok(same(withTiny.images, vae.images));
  assert.equal(withTiny.decoder, 'vae');
});

test("final decoder 'tiny' without a tiny decoder is refused before the first step", async () => {
  let calls = 0;
  const counting = { ...sd, unet: { inChannels: 4, predict: (...args: Parameters<typeof sd.unet.predict>) => (calls++, sd.unet.predict(...args)) } };
  await assert.rejects(
    textToImage(counting, { ...request, finalDecoder: 'tiny' }),
    (error: unknown) =>
      error instanceof PmgError && error.code === 'invalid-argument' && /final decoder 'tiny' needs a tiny autoencoder decoder/.test(error.message),
  );
  await assert.rejects(textToImage(counting, { ...request, finalDecoder: 'big' as never }), /final decoder must be vae or tiny, got 'big'/);
  assert.equal(calls, 0);
});

test('live previews: x0 every N steps (never after the last), by the tiny decoder at full size', async () => {
  const seen: FloatTensor[] = [];
  const previews: StepPreview[] = [];
  const steps: { step: number; x0: FloatTensor }[] = [];
  const result = await textToImage(sd, {
    ...request,
    tinyDecoder: spy(tiny, seen),
    onStep: (event) => void steps.push({ step: event.stepsDone, x0: event.predictedOriginal() }),
    onPreview: (preview) => void previews.push(preview),
  });
  assert.deepEqual(
    previews.map((p) => p.stepsDone),
    [1, 2, 3],
    'steps 1-3 of 4: the last is the final image',
  );
  for (const p of previews) {
    assert.equal(p.decoder, 'tiny');
    assert.equal(p.scale, 1);
    assert.equal(p.requestedSteps, 4);
    assert.deepEqual(p.candidates, [0, 1]);
    assert.deepEqual(p.images.dims, [2, 3, 64, 64]);
    const x0 = steps.find((s) => s.step === p.stepsDone)!.x0;
    assert.ok(same(p.images, await decodeLatents(tiny, x0)), `step ${p.stepsDone}: the decoded x0 of that step`);
  }
  assert.equal(seen.length, 6, 'one tiny decode per candidate and preview; the final images come from the VAE');
  assert.equal(result.decoder, 'vae');
  assert.ok(result.timings.preview !== undefined && result.timings.preview >= 0);
  const every2: number[] = [];
  await textToImage(sd, { ...request, tinyDecoder: tiny, previewEvery: 2, onPreview: (p) => void every2.push(p.stepsDone) });
  assert.deepEqual(every2, [2]);
  assert.throws(() => checkPreviewEvery(0), /preview every must be a whole number >= 1, got 0/);
  await assert.rejects(textToImage(sd, { ...request, previewEvery: 1.5, onPreview: () => undefined }), /got 1\.5/);
});

test('live previews without a tiny decoder: the VAE on 2x2-pooled x0, pixels repeated to full size', async () => {
  const seen: FloatTensor[] = [];
  const previews: StepPreview[] = [];
  const x0s: FloatTensor[] = [];
  const vae = spy(sd.vaeDecoder, seen);
  await textToImage(
    { ...sd, vaeDecoder: vae },
    { ...request, width: 128, height: 128, onStep: (e) => void x0s.push(e.predictedOriginal()), onPreview: (p) => void previews.push(p) },
  );
  assert.equal(previews.length, 3);
  assert.equal(previews[0]!.decoder, 'vae');
  assert.equal(previews[0]!.scale, 2);
  assert.deepEqual(seen[0]!.dims, [1, 4, 8, 8], '16x16 latents pooled to 8x8');
  assert.deepEqual(previews[0]!.images.dims, [2, 3, 128, 128]);
  assert.ok(same(previews[0]!.images, repeatPixels(await decodeLatents(sd.vaeDecoder, poolLatents(x0s[0]!, 2)), 2)));
});
