/**
 * The soft-branch trainer (issue 12 §2; docs/training.md): the public recipe's denoising loss (method.md §3), epsilon-MSE
 * (v-MSE for v-prediction models) of the frozen UNet on the VAE latents of each sample's target image, conditioned on
 * [text encoder states of the target text ; the module's N soft tokens], with AdamW, a warm-up schedule, global-norm
 * clipping, batches and accumulation. One optimiser step consumes batch × accumulation samples; the loss is their mean.
 *
 * Variants: 'full' trains the prefix, the multimodal tokens and the map, with gradients through the UNet and the LLM
 * body (gradient graphs of both, run by onnxruntime: sample-gradients.ts); `noPrefix` / `noTokens` freeze those.
 * 'map' trains the map only; the LLM states at the soft positions are computed once per sample and kept.
 *
 * Determinism: the samples of epoch e are shuffled by a stream seeded by (seed, e); the draws of the sample in slot j of
 * step k (its latent draw, timestep, noise) by (seed, k, j); validation draws by (seed, sample id). So a run resumed
 * from a checkpoint at step k repeats the uninterrupted run's steps k+1.. bit for bit.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../core/random.js';
import { seedFor } from '../data/protocol.js';
import { PmgError } from '../errors/pmg-error.js';
import type { ProgressSink } from '../core/progress.js';
import type { SoftTensors } from '../soft/soft-module.js';
import { adamwStep, ADAMW_DEFAULTS, newAdamWState, type AdamWState } from './adamw.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { clipGradNorm } from './clip-grad.js';
import { lrFactor, type LrScheduleKind } from './lr-schedule.js';
import { addSampleGradients, drawFor, openTrainSessions, sampleLoss, type GradientFactory, type LossContext, type PreparedSample } from './sample-gradients.js';
import type { SampleList } from './sample-list.js';
import { tensorsWith, trainableParams, zeroGradients, type Params } from './soft-parameters.js';

export type { GradientFactory, PreparedSample } from './sample-gradients.js';

export interface TrainSettings {
  train: 'map' | 'full';
  /** Full variant: keep the prefix / the multimodal tokens frozen (ablations). */
  noPrefix: boolean;
  noTokens: boolean;
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

export interface TrainerInput extends LossContext {
  settings: TrainSettings;
  runDir: string;
  /** Prepared when first used (sample-list.ts). */
  train: SampleList;
  val: SampleList;
  unetPath: string;
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
  /** `--objective text-fit` runs: their single line says so. */
  objective?: 'text-fit';
  ridge?: number;
  seconds: number;
}

export const LOG_FILE = 'log.jsonl';

/** The trained parameters of a run's settings, from the module's tensors. */
export function paramsFor(settings: Pick<TrainSettings, 'train' | 'noPrefix' | 'noTokens'>, tensors: SoftTensors): Params {
  const full = settings.train === 'full';
  return trainableParams(tensors, { prefix: full && !settings.noPrefix, tokens: full && !settings.noTokens });
}

/** Train; returns the module's final tensors and the log lines of the whole run. */
export async function trainSoftModule(input: TrainerInput): Promise<{ tensors: SoftTensors; log: LogLine[]; resumedFrom: number }> {
  const { settings, runDir } = input;
  if (settings.train === 'full' && !input.body) throw new PmgError('internal', 'the full variant needs the LLM body');
  if (settings.train === 'map' && input.body) throw new PmgError('internal', 'the map variant reads cached LLM states; give no body');
  if (input.train.length === 0)
    throw new PmgError('invalid-input', 'no training samples with a target image; check the images folder (files named <item id>.png|jpg) and the data folder');
  const params = paramsFor(settings, input.tensors);
  let optimizer: AdamWState = newAdamWState(params);
  let start = 0;
  const settingsRecord = { ...settings } as Record<string, unknown>;
  const checkpoint = readCheckpoint(runDir);
  if (checkpoint) {
    const differing = Object.keys(settingsRecord).filter((k) => JSON.stringify(settingsRecord[k]) !== JSON.stringify(checkpoint.settings[k]));
    if (differing.length)
      throw new PmgError(
        'invalid-argument',
        `${runDir} holds a run with other settings (${differing.map((k) => `${k} ${JSON.stringify(checkpoint.settings[k])}, now ${JSON.stringify(settingsRecord[k])}`).join('; ')}); give the same settings to resume it, or a new output folder`,
      );
    for (const name of Object.keys(params)) params[name]!.set(checkpoint.params[name]!);
    optimizer = checkpoint.optimizer;
    start = checkpoint.step;
  }
  // The gradient graphs first: a model they cannot be built for leaves nothing written.
  const sessions = await openTrainSessions(input, input.unetPath, params, input.gradients);
  mkdirSync(runDir, { recursive: true });
  // The log keeps exactly the lines of the steps the checkpoint covers; later ones are recomputed.
  const logPath = join(runDir, LOG_FILE);
  const log: LogLine[] =
    existsSync(logPath) && start > 0
      ? readFileSync(logPath, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LogLine)
          .filter((l) => l.step <= start)
      : [];
  writeFileSync(logPath, log.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const write = (line: LogLine): void => {
    log.push(line);
    appendFileSync(logPath, `${JSON.stringify(line)}\n`);
  };

  const perStep = settings.batch * settings.accumulation;
  const task = input.progress.start('training', settings.steps, 'steps');
  const started = performance.now();
  const seconds = (): number => Math.round(performance.now() - started) / 1000;
  try {
    if (start === 0 && settings.valEvery > 0 && input.val.length) write({ step: 0, valLoss: await validationLoss(input, params), seconds: 0 });
    let orderEpoch = -1;
    let order: number[] = [];
    for (let step = start; step < settings.steps; step++) {
      if (input.stopAfter !== undefined && step - start >= input.stopAfter) break;
      const grads = zeroGradients(params);
      let lossSum = 0;
      for (let slot = 0; slot < perStep; slot++) {
        const position = step * perStep + slot;
        const epoch = Math.floor(position / input.train.length);
        if (epoch !== orderEpoch) {
          order = shuffled(input.train.length, seedFor(settings.seed, `epoch-${epoch}`));
          orderEpoch = epoch;
        }
        const sample = await input.train.get(order[position % input.train.length]!);
        const draw = drawFor(input, sample, seedFor(settings.seed, `step-${step}-slot-${slot}`));
        lossSum += await addSampleGradients(input, sessions, sample, draw, params, grads, 1 / perStep);
      }
      const gradNorm = clipGradNorm(grads, settings.maxGradNorm);
      const lr = settings.lr * lrFactor({ kind: settings.schedule, warmup: settings.warmup, total: settings.steps }, step);
      adamwStep(params, grads, optimizer, lr, { ...ADAMW_DEFAULTS, weightDecay: settings.weightDecay });
      const done = step + 1;
      write({ step: done, loss: lossSum / perStep, lr, gradNorm, seconds: seconds() });
      if (settings.valEvery > 0 && input.val.length && (done % settings.valEvery === 0 || done === settings.steps))
        write({ step: done, valLoss: await validationLoss(input, params), seconds: seconds() });
      if (done % settings.checkpointEvery === 0 || done === settings.steps)
        writeCheckpoint(runDir, { step: done, settings: settingsRecord, params, optimizer });
      task.update(done);
    }
    task.finish();
  } finally {
    await sessions.close();
  }
  return { tensors: tensorsWith(input.tensors, params), log, resumedFrom: start };
}

/** Mean loss over the validation samples, each with the same draws at every evaluation. */
export async function validationLoss(input: Pick<TrainerInput, 'val' | 'settings'> & LossContext, params: Params): Promise<number> {
  let total = 0;
  for (let i = 0; i < input.val.length; i++) {
    const sample = await input.val.get(i);
    total += await sampleLoss(input, sample, drawFor(input, sample, seedFor(input.settings.seed, `val-${sample.id}`)), params);
  }
  return total / input.val.length;
}

function shuffled(n: number, seed: number): number[] {
  return new SeededRandom(seed).shuffle(Array.from({ length: n }, (_, i) => i));
}
