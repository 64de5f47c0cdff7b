/**
 * Euler ancestral (k-diffusion's sample_euler_ancestral, eta = 1) with diffusers'
 * EulerAncestralDiscreteScheduler semantics: an Euler step down to sigma_down, then fresh noise of std sigma_up.
 */
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, type ConfigSchema } from './config.js';
import { NoiseBuffer, stepResult, type StepOutput } from './prediction.js';
import { SigmaSchedulerBase } from './sigma-scheduler.js';

export const eulerAncestralSchema: ConfigSchema = {
  className: 'EulerAncestralDiscreteScheduler',
  defaults: {
    ...NOISE_SCHEDULE_DEFAULTS,
    prediction_type: 'epsilon',
    timestep_spacing: 'linspace',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
  },
  // diffusers' EulerAncestralDiscreteScheduler has no 'sample' prediction.
  choices: { ...COMMON_CHOICES, prediction_type: ['epsilon', 'v_prediction'] },
  nullable: { trained_betas: 'number[]' },
  integers: ['num_train_timesteps'],
};

export class EulerAncestralScheduler extends SigmaSchedulerBase implements Scheduler {
  readonly name = 'euler-ancestral' as const;
  private readonly noise = new NoiseBuffer('euler-ancestral');

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, random?: NoiseSource): StepOutput {
    const index = this.ensureStepIndex(timestep);
    const sigmaFrom = this.sigmas[index]!;
    const sigmaTo = this.sigmas[index + 1]!;
    const x0 = this.predictX0(modelOutput, sample, sigmaFrom);
    const sigmaUp = Math.sqrt((sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)) / (sigmaFrom * sigmaFrom));
    const sigmaDown = Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
    const ratio = (sigmaDown - sigmaFrom) / sigmaFrom;
    const s = sample.data;
    const z = this.noise.draw(random, s.length);
    const prev = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) prev[i] = s[i]! + (s[i]! - x0[i]!) * ratio + z[i]! * sigmaUp;
    this.stepIndex = index + 1;
    return stepResult(prev, x0, sample.dims);
  }
}
