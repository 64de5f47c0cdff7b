/**
 * Model-output conversions and the small tensor helpers the schedulers share.
 * For variance-preserving schedulers x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, so each prediction type gives
 * x0 and eps as linear combinations of the sample and the model output.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { FloatTensor } from '../spec/tensor.js';
import type { NoiseSource, PredictionType, Scheduler } from '../spec/scheduler.js';

/** What `Scheduler.step` returns. */
export type StepOutput = ReturnType<Scheduler['step']>;

/** out = a * x + b * y, element-wise. */
export function axpby(a: number, x: Float32Array, b: number, y: Float32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = a * x[i]! + b * y[i]!;
  return out;
}

/** A new tensor a * x + b * y, shaped like x (the shapes must already have been checked). */
export function combined(a: number, x: FloatTensor, b: number, y: FloatTensor): FloatTensor {
  return { data: axpby(a, x.data, b, y.data, new Float32Array(x.data.length)), dims: [...x.dims] };
}

/** A step's result: both arrays are the caller's to keep (never a buffer the scheduler reuses). */
export function stepResult(prev: Float32Array, x0: Float32Array, dims: readonly number[]): StepOutput {
  return { prevSample: { data: prev, dims: [...dims] }, predOriginalSample: { data: x0, dims: [...dims] } };
}

/** Coefficients [onSample, onModelOutput] of x0 and eps, given alpha_prod_t = abar_t. */
export interface VpCoefficients {
  x0Sample: number;
  x0Model: number;
  epsSample: number;
  epsModel: number;
}

export function vpCoefficients(prediction: PredictionType, alphaProd: number): VpCoefficients {
  const sa = Math.sqrt(alphaProd);
  const sb = Math.sqrt(1 - alphaProd);
  if (prediction === 'epsilon') return { x0Sample: 1 / sa, x0Model: -sb / sa, epsSample: 0, epsModel: 1 };
  if (prediction === 'v_prediction') return { x0Sample: sa, x0Model: -sb, epsSample: sb, epsModel: sa };
  return { x0Sample: 0, x0Model: 1, epsSample: 1 / sb, epsModel: -sa / sb };
}

/** Dynamic thresholding of x0 (Imagen), as diffusers configures it. */
export interface ThresholdConfig {
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
}

/** x0 post-processing of DDIM, DDPM and LCM: thresholding, else clipping to [-range, range]. */
export interface ClipConfig extends ThresholdConfig {
  clip_sample: boolean;
  clip_sample_range: number;
}

/** Apply diffusers' x0 post-processing in place: dynamic thresholding if on, else clipping if on. */
export function clipOrThreshold(x0: Float32Array, dims: readonly number[], config: Partial<ClipConfig>): void {
  if (config.thresholding) {
    dynamicThreshold(x0, dims, config.dynamic_thresholding_ratio ?? 0.995, config.sample_max_value ?? 1);
  } else if (config.clip_sample) {
    const r = config.clip_sample_range ?? 1;
    for (let i = 0; i < x0.length; i++) x0[i] = Math.min(r, Math.max(-r, x0[i]!));
  }
}

/** Dynamic thresholding (Imagen): per batch item, s = quantile(|x|, ratio) clamped to [1, max]; x = clamp(x, -s, s) / s. */
export function dynamicThreshold(x: Float32Array, dims: readonly number[], ratio: number, maxValue: number): void {
  const batch = dims[0] ?? 1;
  const per = x.length / batch;
  const abs = new Float64Array(per);
  for (let b = 0; b < batch; b++) {
    const off = b * per;
    for (let i = 0; i < per; i++) abs[i] = Math.abs(x[off + i]!);
    abs.sort();
    // torch.quantile's default 'linear' interpolation.
    const pos = ratio * (per - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, per - 1);
    const q = abs[lo]! + (pos - lo) * (abs[hi]! - abs[lo]!);
    const s = Math.min(maxValue, Math.max(1, q));
    for (let i = 0; i < per; i++) x[off + i] = Math.min(s, Math.max(-s, x[off + i]!)) / s;
  }
}

export function checkSameShape(schedulerName: string, a: FloatTensor, b: FloatTensor): void {
  if (a.data.length !== b.data.length || a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) {
    throw new PmgError(
      'invalid-argument',
      `scheduler '${schedulerName}': model output [${a.dims.join(', ')}] and sample [${b.dims.join(', ')}] must have the same shape`,
      {
        details: { modelOutput: a.dims, sample: b.dims },
      },
    );
  }
}

/** Throw unless setTimesteps ran and the model output has the sample's shape: the checks every step() starts with. */
export function checkStepInputs(schedulerName: string, timesteps: readonly number[], modelOutput: FloatTensor, sample: FloatTensor): void {
  if (timesteps.length === 0) notReady(schedulerName);
  checkSameShape(schedulerName, modelOutput, sample);
}

/** `index` if a step is left at it; a clear error once all `count` timesteps have been stepped. */
export function checkStepIndex(schedulerName: string, index: number, count: number): number {
  if (index >= count) {
    throw new PmgError(
      'invalid-argument',
      `scheduler '${schedulerName}': step() called more times than the ${count} timesteps; call setTimesteps again for a new run`,
    );
  }
  return index;
}

/**
 * Append a copy of `values` to `history`, keeping the last `max` entries; the array that drops out is
 * reused for the copy (history arrays are internal: never returned to a caller).
 */
export function pushHistory(history: Float32Array[], max: number, values: Float32Array): void {
  let slot: Float32Array | undefined;
  while (history.length >= max) slot = history.shift();
  if (slot?.length !== values.length) slot = new Float32Array(values.length);
  slot.set(values);
  history.push(slot);
}

/** `buffer` when it has `length` values, else a new array: for scratch buffers kept across steps. */
export function scratch(buffer: Float32Array | undefined, length: number): Float32Array {
  return buffer?.length === length ? buffer : new Float32Array(length);
}

/** A reusable buffer of Gaussian noise drawn from `random`; stochastic schedulers need one. */
export class NoiseBuffer {
  private buffer: Float32Array | undefined;

  constructor(private readonly schedulerName: string) {}

  draw(random: NoiseSource | undefined, length: number): Float32Array {
    if (!random) {
      throw new PmgError('invalid-argument', `scheduler '${this.schedulerName}' is stochastic: pass a noise source (e.g. SeededRandom) to step()`);
    }
    this.buffer = scratch(this.buffer, length);
    random.fillGaussian(this.buffer);
    return this.buffer;
  }
}

export function notReady(schedulerName: string): never {
  throw new PmgError('invalid-argument', `scheduler '${schedulerName}': call setTimesteps(steps) before step()`);
}
