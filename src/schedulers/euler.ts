/**
 * Euler (Karras et al. 2022, algorithm 2 without churn) with diffusers' EulerDiscreteScheduler semantics:
 * sigmas interpolated linearly at the (float) timesteps, optional Karras sigmas, inputs scaled by 1/sqrt(sigma^2+1).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { NoiseSource, PredictionType, Scheduler, TimestepSpacing } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, unsupported, type ConfigSchema, type ConfigValue } from './config.js';
import { checkSameShape, notReady } from './prediction.js';
import { alphasCumprod, checkStepCount, indexForTimestep, interpOnIndexGrid, makeBetas, spacedTimesteps, trainSigmas, type NoiseScheduleConfig } from './schedule.js';
import { karrasSigmas, sigmaToT } from './sigmas.js';

export const eulerSchema: ConfigSchema = {
  className: 'EulerDiscreteScheduler',
  defaults: {
    num_train_timesteps: 1000,
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: 'linear',
    trained_betas: null,
    prediction_type: 'epsilon',
    interpolation_type: 'linear',
    use_karras_sigmas: false,
    use_exponential_sigmas: false,
    use_beta_sigmas: false,
    sigma_min: null,
    sigma_max: null,
    timestep_spacing: 'linspace',
    timestep_type: 'discrete',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
    final_sigmas_type: 'zero',
  },
  choices: { ...COMMON_CHOICES, interpolation_type: ['linear', 'log_linear'], timestep_type: ['discrete', 'continuous'], final_sigmas_type: ['zero', 'sigma_min'] },
  nullable: { trained_betas: 'number[]', sigma_min: 'number', sigma_max: 'number' },
  integers: ['num_train_timesteps'],
};

export interface SigmaConfig extends NoiseScheduleConfig {
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  use_karras_sigmas?: boolean;
  sigma_min?: number | null;
  sigma_max?: number | null;
  timestep_type?: 'discrete' | 'continuous';
  final_sigmas_type?: 'zero' | 'sigma_min';
}

/**
 * Shared state of the sigma-based Euler schedulers: the training sigmas, the inference timesteps and sigmas,
 * and the step counter diffusers keeps (`step_index`).
 */
export abstract class SigmaSchedulerBase {
  abstract readonly name: 'euler' | 'euler-ancestral';
  readonly order = 1;
  readonly config: Readonly<Record<string, ConfigValue>>;
  timesteps: number[] = [];
  sigmas: number[] = [];
  stepIndex: number | undefined;
  initNoiseSigma = 1;
  protected readonly c: SigmaConfig;
  protected readonly alphasCumprod: Float64Array;
  protected readonly trainSigmas: Float64Array;

  constructor(config: Record<string, ConfigValue>) {
    this.config = config;
    this.c = config as unknown as SigmaConfig;
    for (const key of ['use_exponential_sigmas', 'use_beta_sigmas'] as const) {
      if (config[key] === true) unsupported(String(config['_class_name']), key, true, 'use use_karras_sigmas or the default sigmas');
    }
    if (config['interpolation_type'] === 'log_linear') unsupported(String(config['_class_name']), 'interpolation_type', 'log_linear', "use 'linear'");
    const ac = alphasCumprod(makeBetas(this.c));
    // Zero terminal SNR: keep the first sigma finite (diffusers uses the smallest fp16 subnormal).
    if (this.c.rescale_betas_zero_snr) ac[ac.length - 1] = 2 ** -24;
    this.alphasCumprod = ac;
    this.trainSigmas = trainSigmas(ac);
    this.initNoiseSigma = this.initNoiseFor(this.trainSigmas[this.trainSigmas.length - 1]!);
  }

  private initNoiseFor(maxSigma: number): number {
    return this.c.timestep_spacing === 'linspace' || this.c.timestep_spacing === 'trailing' ? maxSigma : Math.sqrt(maxSigma * maxSigma + 1);
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.c.num_train_timesteps;
    checkStepCount(this.name, numInferenceSteps, T);
    let timesteps = spacedTimesteps(this.c.timestep_spacing, T, numInferenceSteps, this.c.steps_offset, false).map(Math.fround);
    let sigmas = timesteps.map((t) => interpOnIndexGrid(t, this.trainSigmas));
    if (this.c.use_karras_sigmas) {
      const logSigmas = this.trainSigmas.map((v) => Math.fround(Math.log(v)));
      sigmas = karrasSigmas(this.c.sigma_min ?? sigmas[sigmas.length - 1]!, this.c.sigma_max ?? sigmas[0]!, numInferenceSteps);
      timesteps = sigmas.map((s) => Math.fround(sigmaToT(s, logSigmas)));
    }
    const last = this.c.final_sigmas_type === 'sigma_min' ? this.trainSigmas[0]! : 0;
    this.sigmas = [...sigmas, last].map(Math.fround);
    if (this.c.timestep_type === 'continuous' && this.c.prediction_type === 'v_prediction') {
      timesteps = this.sigmas.slice(0, -1).map((s) => Math.fround(0.25 * Math.log(s)));
    }
    this.timesteps = timesteps;
    this.stepIndex = undefined;
    this.initNoiseSigma = this.initNoiseFor(Math.max(...this.sigmas));
  }

  protected ensureStepIndex(timestep: number): number {
    if (this.timesteps.length === 0) notReady(this.name);
    if (this.stepIndex === undefined) this.stepIndex = indexForTimestep(this.timesteps, timestep, this.name);
    if (this.stepIndex >= this.timesteps.length) {
      throw new PmgError('invalid-argument', `scheduler '${this.name}': step() called more times than the ${this.timesteps.length} timesteps; call setTimesteps again for a new run`);
    }
    return this.stepIndex;
  }

  /** sample / sqrt(sigma^2 + 1) at the current step. */
  scaleModelInput(sample: FloatTensor, timestep: number): FloatTensor {
    const sigma = this.sigmas[this.ensureStepIndex(timestep)]!;
    const divisor = Math.fround(Math.sqrt(sigma * sigma + 1));
    const out = new Float32Array(sample.data.length);
    for (let i = 0; i < out.length; i++) out[i] = sample.data[i]! / divisor;
    return { data: out, dims: [...sample.dims] };
  }

  /** x0 from the model output at noise level sigma, written into a new array. */
  protected predictX0(modelOutput: FloatTensor, sample: FloatTensor, sigma: number): Float32Array {
    checkSameShape(this.name, modelOutput, sample);
    const m = modelOutput.data;
    const s = sample.data;
    const x0 = new Float32Array(s.length);
    if (this.c.prediction_type === 'epsilon') {
      for (let i = 0; i < s.length; i++) x0[i] = s[i]! - sigma * m[i]!;
    } else if (this.c.prediction_type === 'v_prediction') {
      const a = -sigma / Math.sqrt(sigma * sigma + 1);
      const b = 1 / (sigma * sigma + 1);
      for (let i = 0; i < s.length; i++) x0[i] = m[i]! * a + s[i]! * b;
    } else {
      x0.set(m);
    }
    return x0;
  }

  /** x0 + sigma noise at the step of `timestep` (the current step once sampling started). */
  addNoise(original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor {
    checkSameShape(this.name, noise, original);
    if (this.timesteps.length === 0) notReady(this.name);
    const index = this.stepIndex ?? indexForTimestep(this.timesteps, timestep, this.name);
    const sigma = this.sigmas[index]!;
    const out = new Float32Array(original.data.length);
    for (let i = 0; i < out.length; i++) out[i] = original.data[i]! + noise.data[i]! * sigma;
    return { data: out, dims: [...original.dims] };
  }
}

export class EulerScheduler extends SigmaSchedulerBase implements Scheduler {
  readonly name = 'euler' as const;

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, _random?: NoiseSource): { prevSample: FloatTensor; predOriginalSample: FloatTensor } {
    const index = this.ensureStepIndex(timestep);
    const sigma = this.sigmas[index]!;
    const x0 = this.predictX0(modelOutput, sample, sigma);
    // prev = sample + (sample - x0) / sigma * (sigma_next - sigma)
    const ratio = (this.sigmas[index + 1]! - sigma) / sigma;
    const s = sample.data;
    const prev = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) prev[i] = s[i]! + (s[i]! - x0[i]!) * ratio;
    this.stepIndex = index + 1;
    return { prevSample: { data: prev, dims: [...sample.dims] }, predOriginalSample: { data: x0, dims: [...sample.dims] } };
  }
}
