/** DDIM (Song et al. 2021), deterministic (eta = 0), with diffusers' DDIMScheduler semantics. */
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, type ConfigSchema } from './config.js';
import { clipOrThreshold, stepResult, type ClipConfig, type StepOutput } from './prediction.js';
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

  setTimesteps(numInferenceSteps: number): void {
    checkStepCount(this.name, numInferenceSteps, this.c.num_train_timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = spacedTimesteps(this.c.timestep_spacing, this.c.num_train_timesteps, numInferenceSteps, this.c.steps_offset, true);
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, _random?: NoiseSource): StepOutput {
    this.checkStep(modelOutput, sample);
    const prevTimestep = timestep - Math.floor(this.c.num_train_timesteps / this.numInferenceSteps);
    const alphaProdPrev = this.alphaProdAt(prevTimestep);
    const { x0, k } = this.predictOriginal(modelOutput, sample, this.alphasCumprod[timestep]!);
    clipOrThreshold(x0, sample.dims, this.c);
    // eta = 0: x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps (eps from the unclipped prediction, as diffusers).
    const a = Math.sqrt(alphaProdPrev);
    const b = Math.sqrt(1 - alphaProdPrev);
    const m = modelOutput.data;
    const s = sample.data;
    const prev = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) prev[i] = a * x0[i]! + b * (k.epsSample * s[i]! + k.epsModel * m[i]!);
    return stepResult(prev, x0, sample.dims);
  }
}
