/**
 * Euler (Karras et al. 2022, algorithm 2 without churn) with diffusers' EulerDiscreteScheduler semantics:
 * sigmas interpolated linearly at the (float) timesteps, optional Karras sigmas, inputs scaled by 1/sqrt(sigma^2+1).
 */
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, type ConfigSchema } from './config.js';
import { stepResult, type StepOutput } from './prediction.js';
import { SigmaSchedulerBase } from './sigma-scheduler.js';

export const eulerSchema: ConfigSchema = {
  className: 'EulerDiscreteScheduler',
  defaults: {
    ...NOISE_SCHEDULE_DEFAULTS,
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
  choices: {
    ...COMMON_CHOICES,
    interpolation_type: ['linear', 'log_linear'],
    timestep_type: ['discrete', 'continuous'],
    final_sigmas_type: ['zero', 'sigma_min'],
  },
  nullable: { trained_betas: 'number[]', sigma_min: 'number', sigma_max: 'number' },
  integers: ['num_train_timesteps'],
};

export class EulerScheduler extends SigmaSchedulerBase implements Scheduler {
  readonly name = 'euler' as const;

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, _random?: NoiseSource): StepOutput {
    const index = this.ensureStepIndex(timestep);
    const sigma = this.sigmas[index]!;
    const x0 = this.predictX0(modelOutput, sample, sigma);
    // prev = sample + (sample - x0) / sigma * (sigma_next - sigma)
    const ratio = (this.sigmas[index + 1]! - sigma) / sigma;
    const s = sample.data;
    const prev = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) prev[i] = s[i]! + (s[i]! - x0[i]!) * ratio;
    this.stepIndex = index + 1;
    return stepResult(prev, x0, sample.dims);
  }
}
