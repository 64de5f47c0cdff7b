/**
 * Latent consistency model sampling (Luo et al. 2023) with diffusers' LCMScheduler semantics: timesteps picked
 * from the `original_inference_steps` skipping schedule, the consistency boundary condition
 * denoised = c_out x0 + c_skip x_t, and fresh noise added between steps (none after the last).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, type ConfigSchema, type ConfigValue } from './config.js';
import { addNoiseVp, type VpConfig } from './ddim.js';
import { checkSameShape, clipOrThreshold, NoiseBuffer, notReady, vpCoefficients } from './prediction.js';
import { alphasCumprod, checkStepCount, indexForTimestep, makeBetas } from './schedule.js';

export const lcmSchema: ConfigSchema = {
  className: 'LCMScheduler',
  defaults: {
    num_train_timesteps: 1000,
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    trained_betas: null,
    original_inference_steps: 50,
    clip_sample: false,
    clip_sample_range: 1.0,
    set_alpha_to_one: true,
    steps_offset: 0,
    prediction_type: 'epsilon',
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    timestep_scaling: 10.0,
    rescale_betas_zero_snr: false,
  },
  choices: COMMON_CHOICES,
  nullable: { trained_betas: 'number[]' },
  integers: ['num_train_timesteps', 'original_inference_steps'],
};

const SIGMA_DATA = 0.5;

export class LcmScheduler implements Scheduler {
  readonly name = 'lcm' as const;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly config: Readonly<Record<string, ConfigValue>>;
  timesteps: number[] = [];
  stepIndex: number | undefined;
  private readonly c: VpConfig & { original_inference_steps: number; timestep_scaling: number };
  private readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;
  private readonly noise = new NoiseBuffer('lcm');

  constructor(config: Record<string, ConfigValue>) {
    this.config = config;
    this.c = config as unknown as VpConfig & { original_inference_steps: number; timestep_scaling: number };
    this.alphasCumprod = alphasCumprod(makeBetas(this.c));
    this.finalAlphaCumprod = this.c.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
  }

  /** Timesteps: every k-th of the `original_inference_steps` schedule (k = T / original), evenly sub-sampled. */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.c.num_train_timesteps;
    const original = this.c.original_inference_steps;
    checkStepCount(this.name, numInferenceSteps, T);
    if (original > T) {
      throw new PmgError('invalid-input', `scheduler config 'original_inference_steps' (${original}) must not exceed num_train_timesteps (${T})`);
    }
    if (numInferenceSteps > original) {
      throw new PmgError('invalid-argument', `steps (${numInferenceSteps}) must not exceed the LCM's original_inference_steps (${original}) for scheduler 'lcm'`, {
        details: { field: 'steps', value: numInferenceSteps },
      });
    }
    const k = Math.floor(T / original);
    const origin: number[] = [];
    for (let i = original; i >= 1; i--) origin.push(i * k - 1);
    const timesteps: number[] = [];
    for (let i = 0; i < numInferenceSteps; i++) timesteps.push(origin[Math.floor(i * (origin.length / numInferenceSteps))]!);
    this.timesteps = timesteps;
    this.stepIndex = undefined;
  }

  scaleModelInput(sample: FloatTensor): FloatTensor {
    return sample;
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, random?: NoiseSource): { prevSample: FloatTensor; predOriginalSample: FloatTensor } {
    if (this.timesteps.length === 0) notReady(this.name);
    checkSameShape(this.name, modelOutput, sample);
    if (this.stepIndex === undefined) this.stepIndex = indexForTimestep(this.timesteps, timestep, this.name);
    const index = this.stepIndex;
    if (index >= this.timesteps.length) {
      throw new PmgError('invalid-argument', `scheduler 'lcm': step() called more times than the ${this.timesteps.length} timesteps; call setTimesteps again for a new run`);
    }
    const prevTimestep = index + 1 < this.timesteps.length ? this.timesteps[index + 1]! : timestep;
    const alphaProd = this.alphasCumprod[timestep]!;
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep]! : this.finalAlphaCumprod;

    const scaled = timestep * this.c.timestep_scaling;
    const cSkip = (SIGMA_DATA * SIGMA_DATA) / (scaled * scaled + SIGMA_DATA * SIGMA_DATA);
    const cOut = scaled / Math.sqrt(scaled * scaled + SIGMA_DATA * SIGMA_DATA);

    const k = vpCoefficients(this.c.prediction_type, alphaProd);
    const m = modelOutput.data;
    const s = sample.data;
    const n = s.length;
    const denoised = new Float32Array(n);
    for (let i = 0; i < n; i++) denoised[i] = k.x0Sample * s[i]! + k.x0Model * m[i]!;
    clipOrThreshold(denoised, sample.dims, this.c);
    for (let i = 0; i < n; i++) denoised[i] = cOut * denoised[i]! + cSkip * s[i]!;

    let prev: Float32Array;
    if (index !== this.timesteps.length - 1) {
      const z = this.noise.draw(random, n);
      const a = Math.sqrt(alphaProdPrev);
      const b = Math.sqrt(1 - alphaProdPrev);
      prev = new Float32Array(n);
      for (let i = 0; i < n; i++) prev[i] = a * denoised[i]! + b * z[i]!;
    } else {
      prev = Float32Array.from(denoised);
    }
    this.stepIndex = index + 1;
    return { prevSample: { data: prev, dims: [...sample.dims] }, predOriginalSample: { data: denoised, dims: [...sample.dims] } };
  }

  addNoise(original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor {
    return addNoiseVp(this.name, this.alphasCumprod, original, noise, timestep);
  }
}
