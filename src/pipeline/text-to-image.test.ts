import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isPmgError } from '../errors/pmg-error.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { loadStableDiffusion, type OnnxStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { SeededRandom } from '../core/random.js';
import type { FloatTensor } from '../spec/tensor.js';
import { encodeConditioning } from './conditioning.js';
import { schedulerNames } from '../schedulers/index.js';
import { encodePrompt } from './prompt-encoding.js';
import { prepareDenoise, textToImage, type TextToImageRequest } from './text-to-image.js';

let root: string;
const pool = new SessionPool({ intraOpThreads: 1 });
let sd1: OnnxStableDiffusion;

const base = { steps: 4, width: 64, height: 64, guidanceScale: 7.5, scheduler: 'ddim' } as const;
const quiet = { warn: () => undefined };

function maxAbsDiff(a: FloatTensor, b: FloatTensor): number {
  assert.deepEqual(a.dims, b.dims);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

function slice(t: FloatTensor, i: number): FloatTensor {
  const size = t.data.length / t.dims[0]!;
  return { data: t.data.slice(i * size, (i + 1) * size), dims: [1, ...t.dims.slice(1)] };
}

async function generate(model: OnnxStableDiffusion, request: Partial<TextToImageRequest> & Pick<TextToImageRequest, 'candidates'>) {
  return textToImage(model, { ...base, ...quiet, ...request });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-sd-'));
  sd1 = await loadStableDiffusion(writeTinySd(join(root, 'sd1')), { pool, ...quiet });
});
after(async () => {
  await pool.releaseAll();
  rmSync(root, { recursive: true, force: true });
});

test('the fixture loads as SD 1.x: 768-wide text, epsilon, int64 timestep, VAE factor from its config', () => {
  assert.equal(sd1.family, 'sd1');
  assert.equal(sd1.predictionType, 'epsilon');
  assert.equal(sd1.timestepDtype, 'int64');
  assert.equal(sd1.textEncoder.hiddenSize, 768);
  assert.equal(sd1.vaeDecoder.scalingFactor, 0.18215);
});

test('the prompt changes the image; the same seed gives the same image; another seed another', async () => {
  const cat = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 3 });
  const again = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 3 });
  const poster = await generate(sd1, { candidates: [{ prompt: 'movie poster, dark noir city' }], seed: 3 });
  const otherSeed = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 4 });
  assert.deepEqual(cat.images.dims, [1, 3, 64, 64]);
  assert.equal(maxAbsDiff(cat.images, again.images), 0);
  assert.ok(maxAbsDiff(cat.images, poster.images) > 0.05, 'prompt must change the image');
  assert.ok(maxAbsDiff(cat.images, otherSeed.images) > 0.05, 'seed must change the image');
  assert.ok(cat.images.data.every(Number.isFinite));
});

test('a long prompt becomes 2 chunks and its last keywords still count (nothing is cut)', async () => {
  const long = Array.from({ length: 30 }, () => 'red silk dress').join(', '); // > 75 tokens
  const [c] = await encodeConditioning(sd1.textEncoder, [{ prompt: long }]);
  assert.deepEqual(c!.cond.dims, [1, 154, 768]);
  assert.deepEqual(c!.uncond.dims, [1, 154, 768], 'negative prompt padded to the same chunks');
  const a = await generate(sd1, { candidates: [{ prompt: long }] });
  const b = await generate(sd1, { candidates: [{ prompt: `${long}, cute cat` }] });
  assert.ok(maxAbsDiff(a.images, b.images) > 1e-3, 'keywords after token 75 must change the image');
});

test('extra conditioning tokens are appended and change the output', async () => {
  const extra = { data: new SeededRandom(9).fillGaussian(new Float32Array(2 * 768)), dims: [2, 768] };
  const [c] = await encodeConditioning(sd1.textEncoder, [{ prompt: 'a cute cat', extraTokens: extra }]);
  assert.deepEqual(c!.cond.dims, [1, 79, 768]);
  assert.deepEqual(c!.uncond.dims, [1, 79, 768]);
  assert.deepEqual(Array.from(c!.cond.data.subarray(77 * 768, 77 * 768 + 4)), Array.from(extra.data.subarray(0, 4)));
  const plain = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }] });
  const withExtra = await generate(sd1, { candidates: [{ prompt: 'a cute cat', extraTokens: extra }] });
  assert.ok(maxAbsDiff(plain.images, withExtra.images) > 1e-3);
  const wrong = { data: new Float32Array(2 * 1024), dims: [2, 1024] };
  await assert.rejects(encodeConditioning(sd1.textEncoder, [{ prompt: 'x', extraTokens: wrong }]), /\[n, 768\]/);
});

test('spans are encoded separately: each span equals that span encoded alone, times its weight', async () => {
  const target = 'movie poster, a cute cat';
  const preference = 'red dress, noir, neon city';
  const [c] = await encodeConditioning(sd1.textEncoder, [
    {
      prompt: [
        { text: target, weight: 0.75 },
        { text: preference, weight: 2 },
      ],
    },
  ]);
  const w = 768;
  assert.deepEqual(c!.cond.dims, [1, 154, w], 'one window per span, joined on the token axis');
  assert.deepEqual(c!.uncond.dims, [1, 154, w], 'the negative prompt is padded to the same number of windows');
  const alone = async (text: string) => (await encodePrompt(sd1.textEncoder, text)).data;
  const [t, p] = [await alone(target), await alone(preference)];
  const span = (i: number) => c!.cond.data.subarray(i * 77 * w, (i + 1) * 77 * w);
  let maxTarget = 0;
  let maxPreference = 0;
  let scale = 0;
  for (let j = 0; j < 77 * w; j++) {
    scale = Math.max(scale, Math.abs(t[j]!), Math.abs(p[j]!));
    maxTarget = Math.max(maxTarget, Math.abs(span(0)[j]! - 0.75 * t[j]!));
    maxPreference = Math.max(maxPreference, Math.abs(span(1)[j]! - 2 * p[j]!));
  }
  // Equal up to float rounding (the encoder batch holds 3 windows here, 1 alone).
  assert.ok(maxTarget < 1e-6 * scale, `target span differs by ${maxTarget} (values up to ${scale})`);
  assert.ok(maxPreference < 1e-6 * scale, `preference span differs by ${maxPreference} (values up to ${scale})`);
  // A plain string is still one sequence (repeat mode), not split into parts.
  const [plain] = await encodeConditioning(sd1.textEncoder, [{ prompt: `${target}, ${preference}` }]);
  assert.deepEqual(plain!.cond.dims, [1, 77, w]);
});

test('ready prompt embeddings (encodePrompt of the same text) give the same image as the text', async () => {
  const prompt = 'movie poster, dark noir city';
  const fromText = await generate(sd1, { candidates: [{ prompt, negativePrompt: 'blurry' }], seed: 6 });
  const promptEmbeds = await encodePrompt(sd1.textEncoder, prompt);
  const fromEmbeds = await generate(sd1, { candidates: [{ promptEmbeds, negativePrompt: 'blurry' }], seed: 6 });
  // The text encoder sees a batch of 1 window here and 2 (with the negative) there: equal up to float rounding.
  const diff = maxAbsDiff(fromEmbeds.images, fromText.images);
  assert.ok(diff < 1e-4, `embeddings vs text differ by ${diff}`);
  const other = await generate(sd1, { candidates: [{ prompt: 'a cute cat', negativePrompt: 'blurry' }], seed: 6 });
  assert.ok(maxAbsDiff(other.images, fromText.images) > 0.05, 'another prompt gives another image');
  const spans = [{ text: 'movie poster' }, { text: 'dark noir city', weight: 1.5 }];
  const spanText = await generate(sd1, { candidates: [{ prompt: spans }], seed: 6 });
  const spanEmbeds = await generate(sd1, { candidates: [{ promptEmbeds: await encodePrompt(sd1.textEncoder, spans) }], seed: 6 });
  assert.ok(maxAbsDiff(spanEmbeds.images, spanText.images) < 1e-4);
});

test('candidates of different chunk counts keep their own length; batched equals each alone', async () => {
  const long = Array.from({ length: 30 }, () => 'red silk dress').join(', '); // 2 chunks
  const candidates = [
    { prompt: 'a cute cat', negativePrompt: 'blurry' },
    { prompt: long, negativePrompt: 'blurry' },
  ];
  const [short, longer] = await encodeConditioning(sd1.textEncoder, candidates);
  assert.deepEqual([short!.cond.dims[1], short!.uncond.dims[1]], [77, 77], 'the short candidate is not padded to the long one');
  assert.deepEqual([longer!.cond.dims[1], longer!.uncond.dims[1]], [154, 154]);
  const state = await prepareDenoise(sd1, { ...base, ...quiet, candidates, seeds: [5, 5] });
  assert.deepEqual(state.unetCallLengths, [77, 154], 'one UNet call per length per step');
  const batch = await generate(sd1, { candidates, seeds: [5, 5] });
  for (const [i, c] of candidates.entries()) {
    const alone = await generate(sd1, { candidates: [c], seed: 5 });
    const diff = maxAbsDiff(slice(batch.images, i), alone.images);
    assert.ok(diff < 1e-5, `candidate ${i}: batched and alone differ by ${diff}`);
  }
});

test('batched guidance (one UNet call of batch 2) equals two unbatched calls', async () => {
  const [c] = await encodeConditioning(sd1.textEncoder, [{ prompt: 'a cute cat', negativePrompt: 'blurry' }]);
  const sample = { data: new SeededRandom(1).fillGaussian(new Float32Array(4 * 8 * 8)), dims: [1, 4, 8, 8] };
  const both = await sd1.unet.predict({ data: Float32Array.from([...sample.data, ...sample.data]), dims: [2, 4, 8, 8] }, 501, {
    data: Float32Array.from([...c!.uncond.data, ...c!.cond.data]),
    dims: [2, 77, 768],
  });
  const u = await sd1.unet.predict(sample, 501, c!.uncond);
  const k = await sd1.unet.predict(sample, 501, c!.cond);
  assert.ok(maxAbsDiff(slice(both, 0), u) < 1e-4);
  assert.ok(maxAbsDiff(slice(both, 1), k) < 1e-4);
  assert.ok(maxAbsDiff(u, k) > 1e-3, 'the two halves differ');
});

test('K candidates in one batch match K single runs (per-candidate seeds)', async () => {
  const batch = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }, { prompt: 'movie poster' }], seeds: [5, 8] });
  const first = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 5 });
  const second = await generate(sd1, { candidates: [{ prompt: 'movie poster' }], seed: 8 });
  assert.deepEqual(batch.seeds, [5, 8]);
  assert.ok(maxAbsDiff(slice(batch.images, 0), first.images) < 1e-3);
  assert.ok(maxAbsDiff(slice(batch.images, 1), second.images) < 1e-3);
});

test('the step callback sees every step; aborting stops the run with code aborted', async () => {
  const seen: number[] = [];
  await generate(sd1, { candidates: [{ prompt: 'a' }], onStep: (e) => void seen.push(e.step) });
  assert.deepEqual(seen, [0, 1, 2, 3]);
  const controller = new AbortController();
  const steps: number[] = [];
  await assert.rejects(
    generate(sd1, {
      candidates: [{ prompt: 'a' }],
      signal: controller.signal,
      onStep: (e) => {
        steps.push(e.step);
        if (e.step === 1) controller.abort();
      },
    }),
    (error) => isPmgError(error) && error.code === 'aborted',
  );
  assert.deepEqual(steps, [0, 1]);
});

test('x0 preview mid-run, then continue only the chosen candidate', async () => {
  const request = { ...base, ...quiet, candidates: [{ prompt: 'a cute cat' }, { prompt: 'movie poster' }, { prompt: 'neon city' }], seeds: [1, 2, 3] };
  const state = await prepareDenoise(sd1, request);
  await state.run({ until: 2 });
  assert.equal(state.step, 2);
  const x0 = state.predictedOriginal();
  assert.deepEqual(x0.dims, [3, 4, 8, 8]);
  assert.ok(maxAbsDiff(slice(x0, 0), slice(state.latents(), 0)) > 0, 'x0 is not the noisy latents');
  state.keep([1]);
  await state.run();
  assert.ok(state.done);
  assert.deepEqual(state.candidates, [1]);
  const single = await generate(sd1, { candidates: [{ prompt: 'movie poster' }], seed: 2 });
  assert.ok(maxAbsDiff(state.latents(), single.latents) < 1e-3);
});

test('SD 2.x variant: 1024-wide text, v-prediction, float timestep', async () => {
  const sd2 = await loadStableDiffusion(writeTinySd(join(root, 'sd2'), { variant: 'sd2', timestepType: 'float32' }), { pool, ...quiet });
  assert.equal(sd2.family, 'sd2');
  assert.equal(sd2.predictionType, 'v_prediction');
  assert.equal(sd2.timestepDtype, 'float32');
  assert.equal(sd2.textEncoder.padTokenId, 0, "SD 2.x pads with '!'");
  const result = await textToImage(sd2, { ...quiet, steps: 3, width: 64, height: 48, candidates: [{ prompt: 'a cute cat' }] });
  assert.deepEqual(result.images.dims, [1, 3, 48, 64]);
  assert.ok(result.images.data.every(Number.isFinite));
});

test('fp16 model: inputs and outputs converted, close to the fp32 model with the same weights', async () => {
  const fp16 = await loadStableDiffusion(writeTinySd(join(root, 'fp16'), { fp16: true }), { pool, ...quiet });
  const half = await generate(fp16, { candidates: [{ prompt: 'a cute cat' }], seed: 3 });
  const full = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 3 });
  const diff = maxAbsDiff(half.images, full.images);
  assert.ok(diff < 0.03, `fp16 vs fp32 differ by ${diff}`);
});

test('bad requests are refused before any work', async () => {
  await assert.rejects(generate(sd1, { candidates: [{ prompt: 'a' }], width: 60 }), /multiple of 8/);
  await assert.rejects(generate(sd1, { candidates: [{ prompt: 'a' }], steps: 0 }), /steps/);
  await assert.rejects(generate(sd1, { candidates: [{ prompt: 'a' }], guidanceScale: -1 }), /guidance/);
  await assert.rejects(generate(sd1, { candidates: [{ prompt: 'a' }], scheduler: 'nope' }), /unknown scheduler 'nope'; known: .*ddim/);
  await assert.rejects(generate(sd1, { candidates: [{ prompt: 'a'.repeat(100_000) }] }), /limit is 10000/);
});

test("the model's own scheduler (PNDM from scheduler_config.json) and every known scheduler run end to end", async () => {
  const timesteps: number[] = [];
  const own = await textToImage(sd1, {
    ...quiet,
    steps: 5,
    width: 64,
    height: 64,
    candidates: [{ prompt: 'a cute cat' }],
    onStep: (e) => void timesteps.push(e.timestep),
  });
  assert.deepEqual(timesteps, [801, 601, 601, 401, 201, 1], 'PNDM (PLMS) repeats its second timestep');
  assert.ok(own.images.data.every(Number.isFinite));
  for (const name of schedulerNames) {
    const result = await textToImage(sd1, { ...quiet, steps: 3, width: 32, height: 32, scheduler: name, candidates: [{ prompt: 'a cute cat' }] });
    assert.ok(result.images.data.every(Number.isFinite), name);
  }
});

test('a UNet exported with a fixed batch of 1 runs guided batches in slices, with the same images', async () => {
  const fixed = await loadStableDiffusion(writeTinySd(join(root, 'sd1-batch1'), { fixedUnetBatch: 1 }), { pool, ...quiet });
  const candidates = [{ prompt: 'a cute cat' }, { prompt: 'movie poster, dark noir city' }];
  const sliced = await generate(fixed, { candidates, seed: 5 });
  const whole = await generate(sd1, { candidates, seed: 5 });
  assert.ok(maxAbsDiff(sliced.images, whole.images) < 1e-4, 'slicing the batch must not change the images');
});

test("given latents: the seed's own noise as latents gives the seeded image; they are scaled by init_noise_sigma", async () => {
  const noise = (seed: number): FloatTensor => ({ data: new SeededRandom(seed).fillGaussian(new Float32Array(4 * 8 * 8)), dims: [1, 4, 8, 8] });
  const seeded = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 11 });
  const given = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 0, latents: noise(11) });
  assert.equal(maxAbsDiff(seeded.images, given.images), 0, 'DDIM (init_noise_sigma 1): the same image');
  // Euler starts at init_noise_sigma ~14.6: unit-variance latents must be scaled like the seeded noise.
  const eulerSeeded = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 11, scheduler: 'euler' });
  const eulerGiven = await generate(sd1, { candidates: [{ prompt: 'a cute cat' }], seed: 0, latents: noise(11), scheduler: 'euler' });
  assert.ok(maxAbsDiff(eulerSeeded.images, eulerGiven.images) < 1e-4);
});

test('given latents: one row shared by every candidate, or one row each; other shapes refused', async () => {
  const candidates = [{ prompt: 'a cute cat' }, { prompt: 'a cute cat' }];
  const one = { data: new SeededRandom(4).fillGaussian(new Float32Array(256)), dims: [1, 4, 8, 8] };
  const shared = await generate(sd1, { candidates, seeds: [1, 2], latents: one });
  assert.equal(maxAbsDiff(slice(shared.images, 0), slice(shared.images, 1)), 0, 'same start, same prompt: same image');
  const two = { data: new SeededRandom(4).fillGaussian(new Float32Array(512)), dims: [2, 4, 8, 8] };
  const each = await generate(sd1, { candidates, seeds: [1, 2], latents: two });
  assert.equal(maxAbsDiff(slice(each.images, 0), slice(shared.images, 0)), 0, 'row 0 is the shared row');
  assert.ok(maxAbsDiff(slice(each.images, 0), slice(each.images, 1)) > 0.01);
  await assert.rejects(
    generate(sd1, { candidates, latents: { data: new Float32Array(768), dims: [3, 4, 8, 8] } }),
    /the latents tensor has shape \[3, 4, 8, 8\]; expected \[2 or 1, 4, 8, 8\]/,
  );
  await assert.rejects(
    generate(sd1, { candidates: [{ prompt: 'a' }], latents: { data: new Float32Array(256), dims: [1, 4, 16, 4] } }),
    /expected \[1, 4, 8, 8\]/,
  );
  await assert.rejects(
    generate(sd1, { candidates: [{ prompt: 'a' }], latents: { data: new Float32Array(256).fill(Number.NaN), dims: [1, 4, 8, 8] } }),
    /the latents tensor holds NaN at index 0/,
  );
});

test('the result names the scheduler with its resolved config and timesteps; eta is for DDIM only', async () => {
  const warnings: string[] = [];
  const result = await textToImage(sd1, { steps: 3, width: 32, height: 32, candidates: [{ prompt: 'a' }], eta: 0.5, warn: (m) => warnings.push(m) });
  assert.equal(result.scheduler.name, 'pndm');
  assert.equal(result.scheduler.className, 'PNDMScheduler');
  assert.equal(result.scheduler.config['skip_prk_steps'], true);
  assert.deepEqual(result.scheduler.timesteps, [667, 334, 334, 1]);
  assert.deepEqual(warnings, ["eta 0.5 is used only by the DDIM scheduler; ignored for 'pndm'"]);
  for (const key of ['encode', 'denoise', 'decode'] as const) assert.equal(typeof result.timings[key], 'number');
  const ddim0 = await generate(sd1, { candidates: [{ prompt: 'a' }], seed: 2 });
  const ddimEta = await generate(sd1, { candidates: [{ prompt: 'a' }], seed: 2, eta: 1 });
  assert.ok(maxAbsDiff(ddim0.images, ddimEta.images) > 1e-3, 'eta 1 changes a DDIM image');
  await assert.rejects(generate(sd1, { candidates: [{ prompt: 'a' }], eta: 2 }), /eta must be a number from 0 to 1, got 2/);
});
