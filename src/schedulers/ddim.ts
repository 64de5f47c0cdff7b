/**
 * DDIM (Song et al. 2021) with diffusers' DDIMScheduler semantics: deterministic with eta = 0 (the default),
 * with eta > 0 the variance sigma_t = eta * sqrt((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)) of
 * eq. 16, its noise drawn from the step's noise source.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { NoiseSource, Scheduler, StepOptions } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, type ConfigSchema } from './config.js';
import { clipOrThreshold, NoiseBuffer, stepResult, type ClipConfig, type StepOutput } from './prediction.js';
import { checkStepCount, spacedTimesteps } from './schedule.js';
import { VpSchedulerBase, type VpConfig } from './vp-scheduler.js';

export const ddimSchema: ConfigSchema = {
  className: 'DDIMScheduler',
  defaults: {
    ...NOISE_SCHEDULE_DEFAULTS,
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

export class DdimScheduler extends VpSchedulerBase<VpConfig & ClipConfig> implements Scheduler {
  readonly name = 'ddim' as const;
  private numInferenceSteps = 0;
  private readonly noise = new NoiseBuffer('ddim');

  setTimesteps(numInferenceSteps: number): void {
    checkStepCount(this.name, numInferenceSteps, this.c.num_train_timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = spacedTimesteps(this.c.timestep_spacing, this.c.num_train_timesteps, numInferenceSteps, this.c.steps_offset, true);
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, random?: NoiseSource, options: StepOptions = {}): StepOutput {
    this.checkStep(modelOutput, sample);
    const eta = options.eta ?? 0;
    if (!Number.isFinite(eta) || eta < 0 || eta > 1) {
      throw new PmgError('invalid-argument', `scheduler 'ddim': eta must be a number from 0 to 1, got ${eta}`, { details: { field: 'eta', value: eta } });
    }
    const prevTimestep = timestep - Math.floor(this.c.num_train_timesteps / this.numInferenceSteps);
    const alphaProd = this.alphasCumprod[timestep]!;
    const alphaProdPrev = this.alphaProdAt(prevTimestep);
    const { x0, k } = this.predictOriginal(modelOutput, sample, alphaProd);
    clipOrThreshold(x0, sample.dims, this.c);
    // Eq. 12: x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma_t^2) eps + sigma_t z
    // (eps from the unclipped prediction, as diffusers).
    const variance = ((1 - alphaProdPrev) / (1 - alphaProd)) * (1 - alphaProd / alphaProdPrev);
    const std = eta * Math.sqrt(variance);
    const a = Math.sqrt(alphaProdPrev);
    const b = Math.sqrt(1 - alphaProdPrev - std * std);
    const m = modelOutput.data;
    const s = sample.data;
    const prev = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) prev[i] = a * x0[i]! + b * (k.epsSample * s[i]! + k.epsModel * m[i]!);
    if (eta > 0) {
      const z = this.noise.draw(random, s.length);
      for (let i = 0; i < s.length; i++) prev[i] = prev[i]! + std * z[i]!;
    }
    return stepResult(prev, x0, sample.dims);
  }
}
