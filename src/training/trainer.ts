/**
 * The soft-branch trainer (issue 12 §2; docs/training.md): the public recipe's denoising loss (method.md §3), epsilon-MSE
 * (v-MSE for v-prediction models) of the frozen UNet on the VAE latents of each sample's target image, conditioned on
 * [text encoder states of the target text ; the module's N soft tokens], with AdamW, a warm-up schedule, global-norm
 * clipping, batches and accumulation. One optimiser step consumes batch × accumulation samples; the loss is their mean.
 *
 * Variants: 'map' trains the map only (the LLM states at the soft positions are computed once per sample and kept);
 * the gradient of the loss with respect to the soft rows of encoder_hidden_states comes from a GradientSession
 * (spec/gradient.ts, head 'mse') and becomes the map's gradients in JS (map-gradient.ts). 'full' (prefix + tokens + map,
 * through the LLM body) needs the LLM body's gradient graph and is refused until that is wired (docs/training.md).
 *
 * Determinism: the samples of epoch e are shuffled by a stream seeded by (seed, e); the draws of the sample in slot j of
 * step k (its latent draw, timestep, noise) by (seed, k, j); validation draws by (seed, sample id). So a run resumed
 * from a checkpoint at step k repeats the uninterrupted run's steps k+1.. bit for bit.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../core/random.js';
import { seedFor } from '../data/protocol.js';
import { PmgError } from '../errors/pmg-error.js';
import type { ProgressSink } from '../core/progress.js';
import type { GradientGraphOptions, GradientSession } from '../spec/gradient.js';
import type { Unet } from '../spec/diffusion-models.js';
import type { FloatTensor } from '../spec/tensor.js';
import { adamwStep, ADAMW_DEFAULTS, newAdamWState, type AdamWState } from './adamw.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { clipGradNorm } from './clip-grad.js';
import { lrFactor, type LrScheduleKind } from './lr-schedule.js';
import { addMapGradients } from './map-gradient.js';
import { noiseLatents, type TrainNoiseSchedule } from './noising.js';
import { drawLatents, type LatentPosterior } from './vae-encoding.js';

export type GradientFactory = (modelPath: string, options: GradientGraphOptions, restrict?: Record<string, { offset: number; length: number }>) => Promise<GradientSession>;

export interface TrainSettings {
  train: 'map' | 'full';
  lr: number;
  weightDecay: number;
  batch: number;
  accumulation: number;
  steps: number;
  schedule: LrScheduleKind;
  warmup: number;
  maxGradNorm: number;
  seed: number;
  valEvery: number;
  checkpointEvery: number;
  resolution: number;
}

/** One prepared sample: its conditioning's frozen target part, the LLM states at the soft positions, its latents. */
export interface PreparedSample {
  id: string;
  /** [1, tokens, condWidth] or [tokens, condWidth]: the text encoder's states of the target text. */
  targetStates: FloatTensor;
  /** [N, hidden]. */
  softStates: Float32Array;
  posterior: LatentPosterior;
}

export interface TrainerInput {
  settings: TrainSettings;
  runDir: string;
  /** The module's map at the start (a checkpoint's values replace it on resume). */
  map: { weight: Float32Array; bias: Float32Array };
  N: number;
  train: PreparedSample[];
  val: PreparedSample[];
  unetPath: string;
  unet: Unet;
  noise: TrainNoiseSchedule;
  scalingFactor: number;
  gradients: GradientFactory;
  progress: ProgressSink;
  /** Stop after this many optimiser steps of this call (tests: a kill without a signal). */
  stopAfter?: number;
}

export interface LogLine {
  step: number;
  loss?: number;
  lr?: number;
  gradNorm?: number;
  valLoss?: number;
  seconds: number;
}

export const LOG_FILE = 'log.jsonl';

/** Train; returns the map's final weights and the log lines of the whole run. */
export async function trainSoftMap(input: TrainerInput): Promise<{ weight: Float32Array; bias: Float32Array; log: LogLine[]; resumedFrom: number }> {
  const { settings, runDir } = input;
  if (settings.train !== 'map') throw new PmgError('unsupported', `--train ${settings.train}: gradients through the LLM body are not wired yet; use --train map (docs/training.md)`);
  if (input.train.length === 0) throw new PmgError('invalid-input', 'no training samples with a target image; check --images (files named <item id>.png|jpg) and --data');
  const params: Record<string, Float32Array> = { 'map.weight': Float32Array.from(input.map.weight), 'map.bias': Float32Array.from(input.map.bias) };
  let optimizer: AdamWState = newAdamWState(params);
  let start = 0;
  const settingsRecord = { ...settings } as Record<string, unknown>;
  const checkpoint = readCheckpoint(runDir);
  if (checkpoint) {
    const differing = Object.keys(settingsRecord).filter((k) => JSON.stringify(settingsRecord[k]) !== JSON.stringify(checkpoint.settings[k]));
    if (differing.length) throw new PmgError('invalid-argument', `${runDir} holds a run with other settings (${differing.map((k) => `${k} ${JSON.stringify(checkpoint.settings[k])}, now ${JSON.stringify(settingsRecord[k])}`).join('; ')}); give the same flags to resume it, or a new --out`);
    for (const name of Object.keys(params)) params[name]!.set(checkpoint.params[name]!);
    optimizer = checkpoint.optimizer;
    start = checkpoint.step;
  }
  // The log keeps exactly the lines of the steps the checkpoint covers; later ones are recomputed.
  const logPath = join(runDir, LOG_FILE);
  const log: LogLine[] = existsSync(logPath) && start > 0 ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine).filter((l) => l.step <= start) : [];
  writeFileSync(logPath, log.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const write = (line: LogLine): void => {
    log.push(line);
    appendFileSync(logPath, `${JSON.stringify(line)}\n`);
  };

  const [tokens, width] = stateShape(input.train[0]!);
  const session = await input.gradients(input.unetPath, { wrt: ['encoder_hidden_states'], output: 'out_sample', head: 'mse' }, { encoder_hidden_states: { offset: tokens * width, length: input.N * width } });
  const perStep = settings.batch * settings.accumulation;
  const task = input.progress.start('training', settings.steps, 'steps');
  const started = performance.now();
  try {
    if (start === 0 && settings.valEvery > 0 && input.val.length) write({ step: 0, valLoss: await validationLoss(input, params), seconds: 0 });
    let orderEpoch = -1;
    let order: number[] = [];
    for (let step = start; step < settings.steps; step++) {
      if (input.stopAfter !== undefined && step - start >= input.stopAfter) break;
      const grads = { 'map.weight': new Float32Array(params['map.weight']!.length), 'map.bias': new Float32Array(params['map.bias']!.length) };
      let lossSum = 0;
      for (let slot = 0; slot < perStep; slot++) {
        const position = step * perStep + slot;
        const epoch = Math.floor(position / input.train.length);
        if (epoch !== orderEpoch) {
          order = shuffled(input.train.length, seedFor(settings.seed, `epoch-${epoch}`));
          orderEpoch = epoch;
        }
        const sample = input.train[order[position % input.train.length]!]!;
        const random = new SeededRandom(seedFor(settings.seed, `step-${step}-slot-${slot}`));
        const { loss, rowGrads } = await sampleLoss(input, sample, params, random, session);
        lossSum += loss;
        addMapGradients(grads, rowGrads, sample.softStates, input.N, 1 / perStep);
      }
      const gradNorm = clipGradNorm(grads, settings.maxGradNorm);
      const lr = settings.lr * lrFactor({ kind: settings.schedule, warmup: settings.warmup, total: settings.steps }, step);
      adamwStep(params, grads, optimizer, lr, { ...ADAMW_DEFAULTS, weightDecay: settings.weightDecay });
      const done = step + 1;
      write({ step: done, loss: lossSum / perStep, lr, gradNorm, seconds: round3((performance.now() - started) / 1000) });
      if (settings.valEvery > 0 && input.val.length && (done % settings.valEvery === 0 || done === settings.steps)) write({ step: done, valLoss: await validationLoss(input, params), seconds: round3((performance.now() - started) / 1000) });
      if (done % settings.checkpointEvery === 0 || done === settings.steps) writeCheckpoint(runDir, { step: done, settings: settingsRecord, params, optimizer });
      task.update(done);
    }
    task.finish();
  } finally {
    await session.close();
  }
  return { weight: params['map.weight']!, bias: params['map.bias']!, log, resumedFrom: start };
}

/** The conditioning [target states ; W·h + b] of a sample, [1, tokens + N, condWidth]. */
export function sampleConditioning(sample: PreparedSample, params: Record<string, Float32Array>, N: number): FloatTensor {
  const [tokens, width] = stateShape(sample);
  const out = new Float32Array((tokens + N) * width);
  out.set(sample.targetStates.data);
  const weight = params['map.weight']!;
  const bias = params['map.bias']!;
  const hidden = weight.length / width;
  for (let r = 0; r < N; r++) {
    for (let o = 0; o < width; o++) {
      let sum = 0;
      for (let i = 0; i < hidden; i++) sum += weight[o * hidden + i]! * sample.softStates[r * hidden + i]!;
      out[(tokens + r) * width + o] = sum + bias[o]!;
    }
  }
  return { data: out, dims: [1, tokens + N, width] };
}

async function sampleLoss(input: TrainerInput, sample: PreparedSample, params: Record<string, Float32Array>, random: SeededRandom, session: GradientSession): Promise<{ loss: number; rowGrads: Float32Array }> {
  const x0 = drawLatents(sample.posterior, input.scalingFactor, random);
  const noised = noiseLatents(x0, input.noise, random);
  const conditioning = sampleConditioning(sample, params, input.N);
  const dims = [1, ...sample.posterior.dims];
  const run = await session.run(
    { sample: { data: noised.noisy, dims }, timestep: { data: BigInt64Array.of(BigInt(noised.timestep)), dims: [1] }, encoder_hidden_states: conditioning },
    { target: { data: noised.target, dims } },
  );
  const [tokens, width] = stateShape(sample);
  return { loss: run.loss!, rowGrads: run.grads['encoder_hidden_states']!.data.slice(tokens * width, (tokens + input.N) * width) };
}

/** Mean loss over the validation samples, each with the same draws at every evaluation. */
export async function validationLoss(input: Pick<TrainerInput, 'val' | 'N' | 'unet' | 'noise' | 'scalingFactor' | 'settings'>, params: Record<string, Float32Array>): Promise<number> {
  let total = 0;
  for (const sample of input.val) {
    const random = new SeededRandom(seedFor(input.settings.seed, `val-${sample.id}`));
    const noised = noiseLatents(drawLatents(sample.posterior, input.scalingFactor, random), input.noise, random);
    const predicted = await input.unet.predict({ data: noised.noisy, dims: [1, ...sample.posterior.dims] }, noised.timestep, sampleConditioning(sample, params, input.N));
    let sum = 0;
    for (let i = 0; i < noised.target.length; i++) sum += (predicted.data[i]! - noised.target[i]!) ** 2;
    total += sum / noised.target.length;
  }
  return total / input.val.length;
}

/** Tokens and width of a sample's target states ([tokens, width] or [1, tokens, width]). */
function stateShape(sample: PreparedSample): [number, number] {
  const dims = sample.targetStates.dims;
  return [dims[dims.length - 2]!, dims[dims.length - 1]!];
}

function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const random = new SeededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
