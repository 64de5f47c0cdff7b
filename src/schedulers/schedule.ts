/**
 * Noise schedules and timestep spacings shared by the schedulers, with diffusers' arithmetic:
 * - the training tables are built as diffusers builds them with torch on the CPU: betas from torch.linspace in
 *   float32 (torch-linspace.ts), alphas_cumprod from torch.cumprod (a float64 running product rounded to float32
 *   per element), everything else float32 element-wise;
 * - the inference timesteps use numpy's arithmetic: linspace, arange (start + i * ((start + step) - start)) and
 *   round (half to even), reproduced exactly.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { PredictionType, TimestepSpacing } from '../spec/scheduler.js';
import { torchLinspaceF32 } from './torch-linspace.js';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export interface NoiseScheduleConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  rescale_betas_zero_snr?: boolean;
}

/** Config fields every scheduler reads: the noise schedule, what the model predicts, how timesteps are spaced. */
export interface CommonSchedulerConfig extends NoiseScheduleConfig {
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

const f32 = Math.fround;

/** numpy.round: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

/** numpy.linspace(start, stop, num) with endpoint, in float64. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * numpy.arange(start, stop, step) in float64, as numpy fills it: length ceil((stop - start) / step), the first two
 * values start and start + step, then start + i * delta with delta = (start + step) - start (which is not always
 * `step` exactly: for 1000 / 48 it differs in the last bit, enough to move a rounded timestep).
 */
export function arange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Array<number>(length);
  if (length > 0) out[0] = start;
  if (length > 1) out[1] = start + step;
  const delta = start + step - start;
  for (let i = 2; i < length; i++) out[i] = start + i * delta;
  return out;
}

/** numpy.interp on a grid 0..values.length-1 (x clamped to the ends). */
export function interpOnIndexGrid(x: number, values: ArrayLike<number>): number {
  const last = values.length - 1;
  if (x <= 0) return values[0]!;
  if (x >= last) return values[last]!;
  const i = Math.floor(x);
  const w = x - i;
  return values[i]! + w * (values[i + 1]! - values[i]!);
}

/** betas as float32 values, one per training timestep (torch.linspace in float32 for the linear schedules, as diffusers). */
export function makeBetas(config: NoiseScheduleConfig): Float64Array {
  const n = config.num_train_timesteps;
  let betas: Float64Array;
  if (config.trained_betas !== null) {
    if (config.trained_betas.length !== n) {
      throw new PmgError(
        'invalid-input',
        `scheduler config 'trained_betas' has ${config.trained_betas.length} values but num_train_timesteps is ${n}; make them agree`,
      );
    }
    betas = Float64Array.from(config.trained_betas, f32);
  } else if (config.beta_schedule === 'linear') {
    betas = torchLinspaceF32(config.beta_start, config.beta_end, n);
  } else if (config.beta_schedule === 'scaled_linear') {
    betas = torchLinspaceF32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n).map((v) => f32(v * v));
  } else {
    // Cosine schedule (Nichol & Dhariwal 2021) through alpha_bar, betas capped at 0.999.
    const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    betas = new Float64Array(n);
    for (let i = 0; i < n; i++) betas[i] = f32(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
  }
  if (config.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
  return betas;
}

/** Rescale betas so the last timestep has zero SNR (Lin et al. 2023, algorithm 1). */
export function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const n = betas.length;
  const sqrtBar = alphasCumprod(betas).map((a) => f32(Math.sqrt(a)));
  const first = sqrtBar[0]!;
  const last = sqrtBar[n - 1]!;
  const bar = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const shifted = f32(f32(sqrtBar[i]! - last) * f32(first / (first - last)));
    bar[i] = f32(shifted * shifted);
  }
  const out = new Float64Array(n);
  out[0] = f32(1 - bar[0]!);
  for (let i = 1; i < n; i++) out[i] = f32(1 - f32(bar[i]! / bar[i - 1]!));
  return out;
}

/**
 * Cumulative product of the float32 alphas (1 - beta) as torch.cumprod computes it on a float32 CPU tensor: the
 * running product is kept in float64 (torch's CPU accumulation type for float) and each element is rounded to
 * float32. Checked against torch 1.13: identical on all 1000 values of the linear, scaled-linear and cosine
 * schedules, where a float32 running product differs in 907-991 of them.
 */
export function alphasCumprod(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - betas[i]!);
    out[i] = f32(acc);
  }
  return out;
}

/** Training sigmas sqrt((1 - abar) / abar) as float32. */
export function trainSigmas(alphasCumprodValues: Float64Array): Float64Array {
  return alphasCumprodValues.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

export function checkStepCount(schedulerName: string, numInferenceSteps: number, numTrainTimesteps: number): void {
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > numTrainTimesteps) {
    throw new PmgError(
      'invalid-argument',
      `steps must be an integer from 1 to ${numTrainTimesteps} (num_train_timesteps) for scheduler '${schedulerName}', got ${numInferenceSteps}`,
      { details: { field: 'steps', value: numInferenceSteps } },
    );
  }
}

/**
 * Descending inference timesteps as DDIM, DDPM and Euler space them (before any float/int cast):
 * linspace: linspace(0, T-1, n) (rounded when `round`); leading: arange(n) * (T // n) + steps_offset;
 * trailing: round(arange(T, 0, -T/n)) - 1.
 */
export function spacedTimesteps(spacing: TimestepSpacing, numTrain: number, n: number, stepsOffset: number, round: boolean): number[] {
  if (spacing === 'linspace') {
    const values = linspace(0, numTrain - 1, n).reverse();
    return round ? values.map(roundHalfEven) : values.map(f32);
  }
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrain / n);
    const values: number[] = [];
    for (let i = n - 1; i >= 0; i--) values.push(i * ratio + stepsOffset);
    return values;
  }
  return arange(numTrain, 0, -numTrain / n).map((v) => roundHalfEven(v) - 1);
}

/** Position of `timestep` in `timesteps` as diffusers picks it for the first step: the second match if it occurs twice. */
export function indexForTimestep(timesteps: readonly number[], timestep: number, schedulerName: string): number {
  const first = timesteps.indexOf(timestep);
  if (first < 0) {
    throw new PmgError('invalid-argument', `timestep ${timestep} is not in the schedule of scheduler '${schedulerName}'; pass one of its timesteps`, {
      details: { timestep },
    });
  }
  const second = timesteps.indexOf(timestep, first + 1);
  return second >= 0 ? second : first;
}
