/** DDPM ancestral sampling (Ho et al. 2020) with diffusers' DDPMScheduler semantics (fixed variances). */
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, unsupported, type ConfigSchema, type ConfigValue } from './config.js';
import { clipOrThreshold, NoiseBuffer, stepResult, type ClipConfig, type StepOutput } from './prediction.js';
import { checkStepCount, spacedTimesteps } from './schedule.js';
import { VpSchedulerBase, type VpConfig } from './vp-scheduler.js';

export const ddpmSchema: ConfigSchema = {
  className: 'DDPMScheduler',
  defaults: {
    ...NOISE_SCHEDULE_DEFAULTS,
    variance_type: 'fixed_small',
    clip_sample: true,
    prediction_type: 'epsilon',
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    clip_sample_range: 1.0,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
  },
  choices: { ...COMMON_CHOICES, variance_type: ['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log', 'learned', 'learned_range'] },
  nullable: { trained_betas: 'number[]' },
  integers: ['num_train_timesteps'],
};

type VarianceType = 'fixed_small' | 'fixed_small_log' | 'fixed_large';

export class DdpmScheduler extends VpSchedulerBase<VpConfig & ClipConfig & { variance_type: VarianceType }> implements Scheduler {
  readonly name = 'ddpm' as const;
  private readonly noise = new NoiseBuffer('ddpm');

  constructor(config: Record<string, ConfigValue>) {
    const vt = config['variance_type'];
    if (vt === 'learned' || vt === 'learned_range' || vt === 'fixed_large_log')
      unsupported('DDPMScheduler', 'variance_type', vt, "use 'fixed_small' (the Stable Diffusion setting)");
    super(config);
  }

  setTimesteps(numInferenceSteps: number): void {
    checkStepCount(this.name, numInferenceSteps, this.c.num_train_timesteps);
    this.timesteps = spacedTimesteps(this.c.timestep_spacing, this.c.num_train_timesteps, numInferenceSteps, this.c.steps_offset, true);
  }

  private previousTimestep(timestep: number): number {
    const index = this.timesteps.indexOf(timestep);
    if (index < 0) return timestep - 1;
    return index === this.timesteps.length - 1 ? -1 : this.timesteps[index + 1]!;
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, random?: NoiseSource): StepOutput {
    this.checkStep(modelOutput, sample);
    const alphaProd = this.alphasCumprod[timestep]!;
    // DDPM's config has no set_alpha_to_one: abar before timestep 0 is 1.
    const alphaProdPrev = this.alphaProdAt(this.previousTimestep(timestep));
    const betaProd = 1 - alphaProd;
    const betaProdPrev = 1 - alphaProdPrev;
    const currentAlpha = alphaProd / alphaProdPrev;
    const currentBeta = 1 - currentAlpha;

    const { x0 } = this.predictOriginal(modelOutput, sample, alphaProd);
    clipOrThreshold(x0, sample.dims, this.c);

    // Posterior mean of q(x_{t-1} | x_t, x_0), formula (7) of the DDPM paper.
    const cx0 = (Math.sqrt(alphaProdPrev) * currentBeta) / betaProd;
    const cxt = (Math.sqrt(currentAlpha) * betaProdPrev) / betaProd;
    const s = sample.data;
    const n = s.length;
    const prev = new Float32Array(n);
    for (let i = 0; i < n; i++) prev[i] = cx0 * x0[i]! + cxt * s[i]!;
    if (timestep > 0) {
      const std = this.noiseStd(alphaProd, alphaProdPrev, currentBeta);
      const z = this.noise.draw(random, n);
      for (let i = 0; i < n; i++) prev[i] = prev[i]! + std * z[i]!;
    }
    return stepResult(prev, x0, sample.dims);
  }

  /** The factor diffusers multiplies the noise by, per variance_type. */
  private noiseStd(alphaProd: number, alphaProdPrev: number, currentBeta: number): number {
    const variance = Math.max(((1 - alphaProdPrev) / (1 - alphaProd)) * currentBeta, 1e-20);
    switch (this.c.variance_type) {
      case 'fixed_small':
        return Math.sqrt(variance);
      case 'fixed_small_log':
        // diffusers: exp(0.5 log var), multiplied by the noise without another square root.
        return Math.exp(0.5 * Math.log(variance));
      case 'fixed_large':
        return Math.sqrt(currentBeta);
    }
  }
}
