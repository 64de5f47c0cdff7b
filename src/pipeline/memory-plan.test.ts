import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GB, type MemorySnapshot } from '../core/memory-budget.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { loadStableDiffusion, type OnnxStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { prepareDenoise, textToImage, type TextToImageRequest } from './text-to-image.js';
import { estimateUnetRowBytes } from './unet-slice-plan.js';
import { estimateVaeDecodeBytes, planVaeTiling } from './vae-tiling-plan.js';
import { tiledDecode } from './vae-tiling.js';

let root: string;
const pool = new SessionPool({ intraOpThreads: 1 });
let sd: OnnxStableDiffusion;
const machine =
  (residentBytes: number): (() => MemorySnapshot) =>
  () => ({ residentBytes, availableBytes: 16 * GB, totalBytes: 24 * GB });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmg-memory-'));
  sd = await loadStableDiffusion(writeTinySd(join(root, 'sd')), { pool, warn: () => undefined });
});
after(async () => {
  await pool.releaseAll();
  rmSync(root, { recursive: true, force: true });
});

const request = (extra: Partial<TextToImageRequest> = {}): TextToImageRequest => ({
  candidates: [{ prompt: 'a cute cat', negativePrompt: 'blurry' }, { prompt: 'movie poster, neon city at night' }],
  steps: 3,
  guidanceScale: 7.5,
  width: 64,
  height: 64,
  scheduler: 'ddim',
  seed: 5,
  warn: () => undefined,
  ...extra,
});

test('the fixture has memory profiles read from its configs', () => {
  assert.deepEqual(sd.unet.memoryProfile && { ...sd.unet.memoryProfile, weightBytes: sd.unet.memoryProfile.weightBytes > 0 }, {
    device: 'cpu',
    weightBytes: true,
    activationBytes: 4,
    channels: 8,
    attentionHeads: [0],
    source: 'unet/config.json',
  });
  assert.deepEqual(sd.vaeDecoder.profile, {
    device: 'cpu',
    tileSampleSize: 512,
    tileLatentSize: 64,
    channels: 8,
    midAttention: false,
    activationBytes: 4,
    source: 'vae_decoder/config.json',
  });
});

test('a budget with room for one row: 4 UNet calls of 1 per step, byte-identical images, the plan in the result', async () => {
  const whole = await textToImage(sd, request());
  assert.equal(whole.memory.unet.reason, 'no-plan');
  const row = estimateUnetRowBytes(sd.unet.memoryProfile!, 8, 8);
  const lines: string[] = [];
  const memory = { budget: GB + 1.5 * row, snapshot: machine(GB) };
  const state = await prepareDenoise(sd, request({ memory }));
  assert.deepEqual(state.unetCallRows, [1, 1, 1, 1]);
  const sliced = await textToImage(sd, request({ memory, info: (line) => lines.push(line) }));
  assert.deepEqual(sliced.images.data, whole.images.data, 'slices change the calls, never the pixels');
  assert.deepEqual(sliced.latents.data, whole.latents.data);
  assert.deepEqual([sliced.memory.unet.rows, sliced.memory.unet.rowsPerCall, sliced.memory.unet.calls, sliced.memory.unet.reason], [4, 1, 4, 'budget']);
  assert.match(
    lines[0]!,
    /^UNet: 4 rows per step in 4 calls of 1 \(budget 1\.0 GB, 1\.0 GB in use, est\. \d+ KB per row at 8x8 latents; as many rows per call as the budget allows; architecture from unet\/config\.json\)$/,
  );
  assert.equal(lines[1], 'VAE: whole decode (the image fits in one tile of 512 px)');
});

test('an auto budget on a roomy machine: all rows of the small fixture in one call', async () => {
  const result = await textToImage(sd, request({ memory: { budget: 'auto', snapshot: machine(GB) } }));
  assert.deepEqual([result.memory.unet.rowsPerCall, result.memory.unet.reason, result.memory.unet.autoBudget], [4, 'fits', true]);
});

test('VAE tiling through the real decoder: on, auto by budget, off; tiles where the image is larger than one tile', async () => {
  const wide = { width: 576, height: 64, steps: 2 };
  const plain = await textToImage(sd, request({ ...wide, memory: { vaeTiling: 'off' } }));
  assert.equal(plain.memory.vae?.reason, 'off');
  const on = await textToImage(sd, request({ ...wide, memory: { vaeTiling: 'on' } }));
  assert.deepEqual([on.memory.vae?.tiled, on.memory.vae?.tilesPerImage], [true, 2]);
  assert.deepEqual(on.images.dims, plain.images.dims);
  assert.notDeepEqual(on.images.data, plain.images.data, 'tiles are blended, so pixels near the seam differ');
  assert.deepEqual(
    on.images.data,
    (await tiledDecode(sd.vaeDecoder, scaled(plain.latents, sd.vaeDecoder.scalingFactor), { tileSampleSize: 512, tileLatentSize: 64 })).data,
  );
  const need = estimateVaeDecodeBytes(sd.vaeDecoder.profile!, 8, 72);
  const tight = await textToImage(sd, request({ ...wide, memory: { budget: GB + need / 2, snapshot: machine(GB) } }));
  assert.deepEqual([tight.memory.vae?.tiled, tight.memory.vae?.reason], [true, 'budget']);
  assert.deepEqual(tight.images.data, on.images.data);
  const roomy = await textToImage(sd, request({ ...wide, memory: { budget: GB + 2 * need, snapshot: machine(GB) } }));
  assert.deepEqual([roomy.memory.vae?.tiled, roomy.memory.vae?.reason], [false, 'fits']);
});

test('the VAE estimate follows the measured proxy: about 1.2 GB at 512 px, 0.28 GB at 256 px (SD VAE)', () => {
  const sdVae = { device: 'cpu' as const, tileSampleSize: 512, tileLatentSize: 64, channels: 128, midAttention: true, activationBytes: 4, source: 'test' };
  const at = (side: number): number => estimateVaeDecodeBytes(sdVae, side / 8, side / 8) / GB;
  assert.ok(at(512) >= 1.2 && at(512) < 1.6, `512: ${at(512)}`);
  assert.ok(at(256) >= 0.28 && at(256) < 0.4, `256: ${at(256)}`);
  assert.ok(at(1024) > 4, 'a 1024 px decode needs several GB: what tiling is for');
  const plan = planVaeTiling({
    mode: 'auto',
    latentHeight: 128,
    latentWidth: 128,
    profile: sdVae,
    budget: { bytes: 8 * GB, residentBytes: 5 * GB, auto: false },
  });
  assert.deepEqual([plan.tiled, plan.tilesPerImage, plan.reason], [true, 9, 'budget']);
  const without = planVaeTiling({ mode: 'auto', latentHeight: 128, latentWidth: 128, budget: { bytes: 8 * GB, residentBytes: 5 * GB, auto: false } });
  assert.deepEqual([without.tiled, without.reason], [false, 'no-estimate']);
});

function scaled(latents: { data: Float32Array; dims: number[] }, factor: number) {
  return { data: latents.data.map((v) => v / factor), dims: latents.dims };
}
