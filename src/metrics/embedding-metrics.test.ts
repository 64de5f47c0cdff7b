import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assetPath } from '../core/package-root.js';
import { readImageRgb, type RgbImage } from '../core/image-io.js';
import { imageProcessorSteps, preprocessBatch, readImageProcessorConfig } from '../core/image-processor.js';
import { SessionPool, ort } from '../runtime/onnx-session.js';
import { writeTinyDino } from '../fixtures/tiny-dino.js';
import { writeTinyInception } from '../fixtures/tiny-inception.js';
import { DinoModel, dinoEmbeddingOutput } from './dino.js';
import { InceptionFeatures } from './fid.js';
import { frechetDistance, gaussianStats } from './frechet-distance.js';
import { createMetric, metricInfo } from './registry.js';

const image = (name: string) => readImageRgb(assetPath('test-data', 'metrics', name));
let dir = '';
const pool = new SessionPool({ intraOpThreads: 1 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmg-embed-'));
  await writeTinyDino(join(dir, 'dino'));
  await writeTinyDino(join(dir, 'dino-v1'), { variant: 'dino' });
  await writeTinyInception(join(dir, 'fid'));
});
after(async () => {
  await pool.releaseAll();
  await rm(dir, { recursive: true, force: true });
});

test('DINO: cosine of CLS embeddings, 1 for the same image, batched in one call', async () => {
  const model = await DinoModel.load(join(dir, 'dino'), { pool });
  const [a, b, c, big] = await Promise.all(['a.png', 'b.png', 'c.png', 'big-a.png'].map(image));
  const session = await pool.get(join(dir, 'dino', 'onnx', 'model.onnx'));
  const runs = session.runCount;
  const scores = await model.compare(a, [a, b, c, big]);
  assert.equal(session.runCount - runs, 1);
  assert.ok(Math.abs(scores[0]! - 1) < 1e-6);
  assert.ok(scores.every((s) => s >= -1 && s <= 1 + 1e-6));
  const embeds = await model.embed([a]);
  assert.equal(embeds[0]!.length, 24);
});

/** The fixture network run directly on pmg's preprocessing: [pooler_output row, CLS token row] of the image. */
async function directOutputs(folder: string, img: RgbImage): Promise<[Float32Array, Float32Array]> {
  const steps = imageProcessorSteps(readImageProcessorConfig(join(folder, 'preprocessor_config.json')));
  const pixels = preprocessBatch([img], steps);
  const session = await pool.get(join(folder, 'onnx', 'model.onnx'));
  const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels.data, pixels.dims) });
  const dim = (out.pooler_output!.dims as number[])[1]!;
  return [out.pooler_output!.data as Float32Array, (out.last_hidden_state!.data as Float32Array).slice(0, dim)];
}

test('DINO reads pooler_output for DINOv2 and the CLS token (last_hidden_state[:, 0]) for DINO v1, whose pooler is not the embedding', async () => {
  const a = await image('a.png');
  const v2 = await DinoModel.load(join(dir, 'dino'), { pool });
  const v1 = await DinoModel.load(join(dir, 'dino-v1'), { pool });
  assert.equal(v2.output, 'pooler_output');
  assert.equal(v1.output, 'last_hidden_state');
  const close = (x: Float32Array, y: Float32Array) => x.every((v, i) => Math.abs(v - y[i]!) < 1e-6);
  const [v2Pooler, v2Cls] = await directOutputs(join(dir, 'dino'), a);
  const [v1Pooler, v1Cls] = await directOutputs(join(dir, 'dino-v1'), a);
  const [e2] = await v2.embed([a]);
  const [e1] = await v1.embed([a]);
  assert.ok(close(e2!, v2Pooler) && !close(e2!, v2Cls));
  assert.ok(close(e1!, v1Cls) && !close(e1!, v1Pooler));
  assert.equal(dinoEmbeddingOutput('dinov2', ['last_hidden_state']), 'last_hidden_state');
  assert.equal(dinoEmbeddingOutput('vit', ['last_hidden_state', 'pooler_output']), 'last_hidden_state');
  await rm(join(dir, 'dino-v1', 'config.json'));
  await assert.rejects(DinoModel.load(join(dir, 'dino-v1'), { pool }), /DINO model .*dino-v1 lacks config.json \(its model_type decides/);
});

test('FID: 0 for identical sets, equals the Fréchet distance of the features, batches of 16', async () => {
  const model = await InceptionFeatures.load(join(dir, 'fid'), { pool });
  assert.equal(model.imageSize, 32);
  const images = await Promise.all(['a.png', 'b.png', 'c.png', 'big-a.png', 'big-b.png', 'big-c.png'].map(image));
  const same = await model.fid(images.slice(0, 3), images.slice(0, 3));
  assert.ok(Math.abs(same) < 1e-6, `FID of a set with itself: ${same}`);
  const value = await model.fid(images.slice(0, 3), images.slice(3));
  const [x, y] = [await model.features(images.slice(0, 3)), await model.features(images.slice(3))];
  assert.ok(Math.abs(value - frechetDistance(gaussianStats(x), gaussianStats(y))) < 1e-6 * Math.max(1, value));
  assert.ok(value > 0);
  await assert.rejects(model.fid(images.slice(0, 1), images), /at least 2 generated/);
});

test('registry: unknown metric lists the known ones; network metrics need a model', async () => {
  assert.throws(() => metricInfo('psnr'), /unknown metric 'psnr'; known metrics: ssim, ms-ssim, lpips, clip-t, clip-i, dino, fid/);
  await assert.rejects(createMetric('lpips'), /model is missing: metric 'lpips' needs a model/);
  const ssim = await createMetric('ssim');
  const [a, big] = await Promise.all([image('a.png'), image('big-a.png')]);
  const [value] = await ssim.compare(big, [a]);
  assert.ok(value! > -1 && value! < 1);
  await assert.rejects(ssim.compareSets([a], [a]), /pair metric/);
});
