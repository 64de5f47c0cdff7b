/** DDIM (Song et al. 2021), deterministic (eta = 0), with diffusers' DDIMScheduler semantics. */
import { PmgError } from '../errors/pmg-error.js';
import type { NoiseSource, PredictionType, Scheduler, TimestepSpacing } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, type ConfigSchema, type ConfigValue } from './config.js';
import { checkSameShape, clipOrThreshold, notReady, vpCoefficients } from './prediction.js';
import { alphasCumprod, checkStepCount, makeBetas, spacedTimesteps, type NoiseScheduleConfig } from './schedule.js';

export const ddimSchema: ConfigSchema = {
  className: 'DDIMScheduler',
  defaults: {
    num_train_timesteps: 1000,
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: 'linear',
    trained_betas: null,
    clip_sample: true,
    set_alpha_to_one: true,
    steps_offset: 0,
    prediction_type: 'epsilon',
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    clip_sample_range: 1.0,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    rescale_betas_zero_snr: false,
  },
  choices: COMMON_CHOICES,
  nullable: { trained_betas: 'number[]' },
  integers: ['num_train_timesteps'],
};

/** Config fields read by the VP (alphabar-based) schedulers. */
export interface VpConfig extends NoiseScheduleConfig {
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  clip_sample: boolean;
  clip_sample_range: number;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  set_alpha_to_one: boolean;
}

export class DdimScheduler implements Scheduler {
  readonly name = 'ddim' as const;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly config: Readonly<Record<string, ConfigValue>>;
  timesteps: number[] = [];
  private readonly c: VpConfig;
  private readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps = 0;

  constructor(config: Record<string, ConfigValue>) {
    this.config = config;
    this.c = config as unknown as VpConfig;
    this.alphasCumprod = alphasCumprod(makeBetas(this.c));
    this.finalAlphaCumprod = this.c.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
  }

  setTimesteps(numInferenceSteps: number): void {
    checkStepCount(this.name, numInferenceSteps, this.c.num_train_timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = spacedTimesteps(this.c.timestep_spacing, this.c.num_train_timesteps, numInferenceSteps, this.c.steps_offset, true);
  }

  scaleModelInput(sample: FloatTensor): FloatTensor {
    return sample;
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, _random?: NoiseSource): { prevSample: FloatTensor; predOriginalSample: FloatTensor } {
    if (this.numInferenceSteps === 0) notReady(this.name);
    checkSameShape(this.name, modelOutput, sample);
    const prevTimestep = timestep - Math.floor(this.c.num_train_timesteps / this.numInferenceSteps);
    const alphaProd = this.alphasCumprod[timestep]!;
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep]! : this.finalAlphaCumprod;
    const k = vpCoefficients(this.c.prediction_type, alphaProd);
    const m = modelOutput.data;
    const s = sample.data;
    const n = s.length;
    const x0 = new Float32Array(n);
    for (let i = 0; i < n; i++) x0[i] = k.x0Sample * s[i]! + k.x0Model * m[i]!;
    clipOrThreshold(x0, sample.dims, this.c);
    // eta = 0: x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps (eps from the unclipped prediction, as diffusers).
    const a = Math.sqrt(alphaProdPrev);
    const b = Math.sqrt(1 - alphaProdPrev);
    const prev = new Float32Array(n);
    for (let i = 0; i < n; i++) prev[i] = a * x0[i]! + b * (k.epsSample * s[i]! + k.epsModel * m[i]!);
    return { prevSample: { data: prev, dims: [...sample.dims] }, predOriginalSample: { data: x0, dims: [...sample.dims] } };
  }

  addNoise(original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor {
    return addNoiseVp(this.name, this.alphasCumprod, original, noise, timestep);
  }
}

/** q(x_t | x_0) for alphabar-based schedulers: sqrt(abar_t) x0 + sqrt(1 - abar_t) noise. */
export function addNoiseVp(name: string, alphasCumprodValues: Float64Array, original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor {
  checkSameShape(name, noise, original);
  if (!Number.isInteger(timestep) || timestep < 0 || timestep >= alphasCumprodValues.length) {
    throw new PmgError('invalid-argument', `scheduler '${name}': addNoise timestep must be an integer from 0 to ${alphasCumprodValues.length - 1}, got ${timestep}`);
  }
  const alphaProd = alphasCumprodValues[timestep]!;
  const out = new Float32Array(original.data.length);
  const a = Math.sqrt(alphaProd);
  const b = Math.sqrt(1 - alphaProd);
  for (let i = 0; i < out.length; i++) out[i] = a * original.data[i]! + b * noise.data[i]!;
  return { data: out, dims: [...original.dims] };
}
