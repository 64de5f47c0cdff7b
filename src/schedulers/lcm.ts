/**
 * Latent consistency model sampling (Luo et al. 2023) with diffusers' LCMScheduler semantics: timesteps picked
 * from the `original_inference_steps` skipping schedule, the consistency boundary condition
 * denoised = c_out x0 + c_skip x_t, and fresh noise added between steps (none after the last).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, type ConfigSchema } from './config.js';
import { axpby, checkStepIndex, clipOrThreshold, NoiseBuffer, stepResult, type ClipConfig, type StepOutput } from './prediction.js';
import { checkStepCount, indexForTimestep } from './schedule.js';
import { VpSchedulerBase, type VpConfig } from './vp-scheduler.js';

export const lcmSchema: ConfigSchema = {
  className: 'LCMScheduler',
  defaults: {
    ...NOISE_SCHEDULE_DEFAULTS,
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
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

interface LcmConfig extends VpConfig, ClipConfig {
  original_inference_steps: number;
  timestep_scaling: number;
}

export class LcmScheduler extends VpSchedulerBase<LcmConfig> implements Scheduler {
  readonly name = 'lcm' as const;
  stepIndex: number | undefined;
  private readonly noise = new NoiseBuffer('lcm');

  /** Timesteps: every k-th of the `original_inference_steps` schedule (k = T / original), evenly sub-sampled. */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.c.num_train_timesteps;
    const original = this.c.original_inference_steps;
    checkStepCount(this.name, numInferenceSteps, T);
    if (original > T) {
      throw new PmgError('invalid-input', `scheduler config 'original_inference_steps' (${original}) must not exceed num_train_timesteps (${T})`);
    }
    if (numInferenceSteps > original) {
      throw new PmgError(
        'invalid-argument',
        `steps (${numInferenceSteps}) must not exceed the LCM's original_inference_steps (${original}) for scheduler 'lcm'`,
        {
          details: { field: 'steps', value: numInferenceSteps },
        },
      );
    }
    const k = Math.floor(T / original);
    const origin: number[] = [];
    for (let i = original; i >= 1; i--) origin.push(i * k - 1);
    const timesteps: number[] = [];
    for (let i = 0; i < numInferenceSteps; i++) timesteps.push(origin[Math.floor(i * (origin.length / numInferenceSteps))]!);
    this.timesteps = timesteps;
    this.stepIndex = undefined;
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, random?: NoiseSource): StepOutput {
    this.checkStep(modelOutput, sample);
    this.stepIndex ??= indexForTimestep(this.timesteps, timestep, this.name);
    const index = checkStepIndex(this.name, this.stepIndex, this.timesteps.length);
    const prevTimestep = index + 1 < this.timesteps.length ? this.timesteps[index + 1]! : timestep;
    const alphaProdPrev = this.alphaProdAt(prevTimestep);

    const scaled = timestep * this.c.timestep_scaling;
    const cSkip = (SIGMA_DATA * SIGMA_DATA) / (scaled * scaled + SIGMA_DATA * SIGMA_DATA);
    const cOut = scaled / Math.sqrt(scaled * scaled + SIGMA_DATA * SIGMA_DATA);

    const { x0: denoised } = this.predictOriginal(modelOutput, sample, this.alphasCumprod[timestep]!);
    clipOrThreshold(denoised, sample.dims, this.c);
    axpby(cOut, denoised, cSkip, sample.data, denoised);
    const n = denoised.length;

    let prev: Float32Array;
    if (index !== this.timesteps.length - 1) {
      const z = this.noise.draw(random, n);
      prev = axpby(Math.sqrt(alphaProdPrev), denoised, Math.sqrt(1 - alphaProdPrev), z, new Float32Array(n));
    } else {
      prev = Float32Array.from(denoised);
    }
    this.stepIndex = index + 1;
    return stepResult(prev, denoised, sample.dims);
  }
}
