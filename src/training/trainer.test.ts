import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../core/image-io.js';
import { SeededRandom } from '../core/random.js';
import { silentProgress } from '../core/progress.js';
import { writeTinySd } from '../fixtures/tiny-sd.js';
import { encodePrompt } from '../pipeline/prompt-encoding.js';
import { loadStableDiffusion } from '../providers/image/onnx-stable-diffusion.js';
import { SessionPool } from '../runtime/onnx-session.js';
import { openGradientSession } from '../autodiff/gradient-session.js';
import { trainNoiseSchedule } from './noising.js';
import { preparedList } from './sample-list.js';
import { ridgeMap } from './text-fit.js';
import { trainSoftModule, validationLoss, type PreparedSample, type TrainerInput, type TrainSettings } from './trainer.js';
import { openVaeEncoder } from './vae-encoding.js';

const root = mkdtempSync(join(tmpdir(), 'pmg-trainer-'));
after(() => rmSync(root, { recursive: true, force: true }));
const sdDir = writeTinySd(join(root, 'sd'));
const pool = new SessionPool();
after(() => pool.releaseAll());
const hidden = 6;
const N = 1;

// A task that can be learned: every sample's target is the same image, so one map fits them all.
/** The training samples of `setup`, as an array (the text-fit test reads them directly). */
let trainSamples: PreparedSample[] = [];

async function setup(): Promise<Omit<TrainerInput, 'settings' | 'runDir'>> {
  const model = await loadStableDiffusion(sdDir, { pool, threads: 1, fuseAttention: false });
  const image = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).map((_, i) => ((i % 3) * 90 + ((i / 192) | 0) * 3) & 255) };
  writeFileSync(join(root, 'target.png'), await encodePng(image));
  const vae = await openVaeEncoder(sdDir, 64, { threads: 1 });
  const posterior = await vae.encode(join(root, 'target.png'));
  await vae.close();
  const random = new SeededRandom(3);
  const prepare = async (id: string): Promise<PreparedSample> => ({
    id,
    targetStates: await encodePrompt(model.textEncoder, `poster ${id}`),
    softStates: random.fillGaussian(new Float32Array(N * hidden)),
    posterior,
  });
  return {
    shape: { P: 0, N, hidden, layers: 1, kvHeads: 1, headDim: 1 },
    tensors: { tokens: new Float32Array(N * hidden), mapWeight: new Float32Array(768 * hidden), mapBias: new Float32Array(768) },
    train: preparedList((trainSamples = await Promise.all(['a', 'b', 'c', 'd'].map(prepare)))),
    val: preparedList(await Promise.all(['v1', 'v2'].map(prepare))),
    unetPath: join(sdDir, 'unet', 'model.onnx'),
    unet: model.unet,
    noise: trainNoiseSchedule(model.schedulerConfig),
    scalingFactor: vae.scalingFactor,
    gradients: (path, options) => openGradientSession(path, { ...options, threads: 1 }),
    progress: silentProgress,
  };
}

const settings: TrainSettings = {
  train: 'map',
  noPrefix: false,
  noTokens: false,
  lr: 0.05,
  weightDecay: 0,
  batch: 2,
  accumulation: 1,
  steps: 12,
  schedule: 'constant',
  warmup: 0,
  maxGradNorm: 0,
  seed: 1,
  valEvery: 12,
  checkpointEvery: 4,
  resolution: 64,
};
const common = setup();

test('training the map on a fixed target image lowers the validation loss clearly', async () => {
  const base = await common;
  const runDir = join(root, 'run-learn');
  mkdirSync(runDir);
  const result = await trainSoftModule({ ...base, settings: { ...settings, lr: 0.3 }, runDir });
  const val = result.log.filter((l) => l.valLoss !== undefined).map((l) => l.valLoss!);
  assert.equal(val.length, 2);
  // The loss has an irreducible part (the noise no conditioning predicts); the learnable part is about 10% here.
  assert.ok(val[1]! < 0.95 * val[0]!, `validation loss ${val[0]} → ${val[1]}`);
  assert.equal(result.log.filter((l) => l.loss !== undefined).length, settings.steps);
});

test('a run stopped after a checkpoint and resumed writes the same log as an uninterrupted one (except seconds)', async () => {
  const base = await common;
  const quick = { ...settings, steps: 6, checkpointEvery: 2, valEvery: 3 };
  const whole = join(root, 'run-whole');
  const parts = join(root, 'run-parts');
  mkdirSync(whole);
  mkdirSync(parts);
  const a = await trainSoftModule({ ...base, settings: quick, runDir: whole });
  await trainSoftModule({ ...base, settings: quick, runDir: parts, stopAfter: 3 });
  const b = await trainSoftModule({ ...base, settings: quick, runDir: parts });
  assert.equal(b.resumedFrom, 2);
  const strip = (dir: string) =>
    readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => ({ ...JSON.parse(l), seconds: 0 }));
  assert.deepEqual(strip(parts), strip(whole));
  assert.deepEqual([...b.tensors.mapWeight], [...a.tensors.mapWeight]);
  await assert.rejects(trainSoftModule({ ...base, settings: { ...quick, lr: 0.1 }, runDir: parts }), /other settings \(lr 0\.05, now 0\.1\)/);
});

test('text-fit: a ridge-initialised map versus the diffusion-trained one, on the validation loss', async () => {
  const base = await common;
  const states = new Float32Array(trainSamples.length * N * hidden);
  const targets = new Float32Array(trainSamples.length * 768);
  trainSamples.forEach((s, k) => {
    states.set(s.softStates!, k * hidden);
    // The mean of the prompt's token states (the fixture's prompts are a few tokens; the rest is padding).
    for (let t = 0; t < 4; t++) for (let j = 0; j < 768; j++) targets[k * 768 + j] = targets[k * 768 + j]! + s.targetStates.data[t * 768 + j]! / 4;
  });
  const fit = ridgeMap(states, targets, trainSamples.length, 1e-3);
  const input = { ...base, settings };
  const textFit = await validationLoss(input, { 'map.weight': fit.weight, 'map.bias': fit.bias });
  const runDir = join(root, 'run-from-ridge');
  mkdirSync(runDir);
  const trained = await trainSoftModule({ ...base, tensors: { ...base.tensors, mapWeight: fit.weight, mapBias: fit.bias }, settings, runDir });
  const after = await validationLoss(input, { 'map.weight': trained.tensors.mapWeight, 'map.bias': trained.tensors.mapBias });
  assert.ok(Number.isFinite(textFit) && after < textFit, `text-fit ${textFit}, diffusion-trained from it ${after}`);
  // The ridge solution reproduces the targets' mean at the states' mean (b = ȳ − W·h̄).
  assert.ok(fit.bias.every(Number.isFinite));
});
