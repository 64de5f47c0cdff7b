import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { clipPreprocessImage } from '../core/image-processor.js';
import { CLIP_FIXTURE_WORDS, clipVocabulary } from '../fixtures/tiny-clip-tokenizer.js';
import { writeTinyClip } from '../fixtures/tiny-clip.js';
import { clipTokenBatch } from './clip-inputs.js';
import { SessionPool, ort } from './onnx-session.js';
import { RawImage } from '@huggingface/transformers';
import { loadClip, type ClipModel } from './transformers-models.js';

let dir = '';
let clip: ClipModel;
const pool = new SessionPool({ intraOpThreads: 1 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmg-clip-inputs-'));
  await writeTinyClip(join(dir, 'clip'));
  clip = await loadClip(join(dir, 'clip'));
});
after(async () => {
  await pool.releaseAll();
  await rm(dir, { recursive: true, force: true });
});

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

test('a text longer than the window keeps [start, first 75 tokens, end]: same embedding as the text cut to 75 words', async () => {
  assert.equal(clip.maxTextLength, 77);
  const words = CLIP_FIXTURE_WORDS.slice(0, 100);
  const [long, cut, shorter] = await clip.embedTexts([words.join(' '), words.slice(0, 75).join(' '), words.slice(0, 74).join(' ')]);
  assert.ok(maxDiff(long!, cut!) < 1e-5, 'the end token is pooled at position 76');
  assert.ok(maxDiff(long!, shorter!) > 1e-3, 'and the 75th word still counts');
});

test('clipTokenBatch cuts each row keeping its last (end) token, pads the batch with the pad id', () => {
  const { eosId, bosId } = clipVocabulary();
  const body = Array.from({ length: 90 }, (_, i) => i + 1);
  const { ids, mask, dims, truncated } = clipTokenBatch(
    [
      [bosId, ...body, eosId],
      [bosId, 5, eosId],
    ],
    77,
    eosId,
  );
  assert.deepEqual(dims, [2, 77]);
  assert.equal(truncated, 1);
  const row = [...ids.subarray(0, 77)].map(Number);
  assert.deepEqual(row, [bosId, ...body.slice(0, 75), eosId]);
  assert.deepEqual([...ids.subarray(77, 80)].map(Number), [bosId, 5, eosId]);
  assert.equal(Number(ids[80]), eosId);
  assert.deepEqual([...mask.subarray(77, 81)].map(Number), [1, 1, 1, 0]);
});

test("CLIP image embeddings come from pmg's CLIPImageProcessor arithmetic, for RGB images, RawImages and files", async () => {
  const width = 50;
  const height = 37;
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7 + (i % 13) * 11) % 256);
  const rgb = { width, height, data };
  const config = JSON.parse(await readFile(join(dir, 'clip', 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
  const pixels = clipPreprocessImage(rgb, config);
  const session = await pool.get(join(dir, 'clip', 'onnx', 'vision_model.onnx'));
  const direct = (await session.run({ pixel_values: new ort.Tensor('float32', pixels.data, pixels.dims) }, ['image_embeds'])).image_embeds!
    .data as Float32Array;
  const [fromRgb, fromRaw] = await clip.embedImages([rgb, new RawImage(new Uint8ClampedArray(data), width, height, 3)]);
  assert.ok(maxDiff(fromRgb!, direct) < 1e-6);
  assert.ok(maxDiff(fromRaw!, direct) < 1e-6);
});

test('transparent pixels reach CLIP as white (RGBA RawImage)', async () => {
  const rgba = new RawImage(new Uint8ClampedArray(16 * 16 * 4).fill(0), 16, 16, 4); // fully transparent black
  const white = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(255) };
  const black = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) };
  const [a, w, b] = await clip.embedImages([rgba, white, black]);
  assert.ok(maxDiff(a!, w!) < 1e-6);
  assert.ok(maxDiff(a!, b!) > 1e-3);
});
