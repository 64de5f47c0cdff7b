/**
 * The denoising loss's inputs for one sample (method.md §3; diffusers' train_text_to_image.py): a timestep t drawn
 * uniformly from [0, num_train_timesteps), noise ε ~ N(0, I), the noisy latents √ᾱ_t·x0 + √(1 − ᾱ_t)·ε
 * (DDPMScheduler.add_noise), and the target the UNet should predict: ε for epsilon models, the velocity
 * v = √ᾱ_t·ε − √(1 − ᾱ_t)·x0 for v-prediction models (DDPMScheduler.get_velocity). ᾱ comes from the model's own
 * scheduler config through the schedulers' tables (schedulers/schedule.ts). All draws come from one seeded stream.
 */
import type { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import { NOISE_SCHEDULE_DEFAULTS } from '../schedulers/config.js';
import { alphasCumprod, makeBetas, type BetaSchedule } from '../schedulers/schedule.js';

export type TrainPrediction = 'epsilon' | 'v_prediction';

export interface TrainNoiseSchedule {
  prediction: TrainPrediction;
  /** ᾱ_t for t = 0 .. num_train_timesteps − 1. */
  alphasCumprod: Float64Array;
}

/** The training noise schedule of a Stable Diffusion model's scheduler_config.json. */
export function trainNoiseSchedule(config: Readonly<Record<string, unknown>>): TrainNoiseSchedule {
  const value = <T>(key: string, fallback: T): T => (config[key] === undefined || config[key] === null ? fallback : (config[key] as T));
  const prediction = value<string>('prediction_type', 'epsilon');
  if (prediction !== 'epsilon' && prediction !== 'v_prediction') {
    throw new PmgError('unsupported', `scheduler config prediction_type '${prediction}': the trainer supports epsilon and v_prediction models`);
  }
  const trained = config['trained_betas'];
  const betas = makeBetas({
    num_train_timesteps: value('num_train_timesteps', NOISE_SCHEDULE_DEFAULTS.num_train_timesteps),
    beta_start: value('beta_start', NOISE_SCHEDULE_DEFAULTS.beta_start),
    beta_end: value('beta_end', NOISE_SCHEDULE_DEFAULTS.beta_end),
    beta_schedule: value<BetaSchedule>('beta_schedule', NOISE_SCHEDULE_DEFAULTS.beta_schedule),
    trained_betas: Array.isArray(trained) ? (trained as number[]) : null,
    rescale_betas_zero_snr: value('rescale_betas_zero_snr', false),
  });
  return { prediction, alphasCumprod: alphasCumprod(betas) };
}

export interface NoisedSample {
  timestep: number;
  noisy: Float32Array;
  target: Float32Array;
}

/** Noise clean latents `x0` at a random timestep, and the UNet's target. */
export function noiseLatents(x0: Float32Array, schedule: TrainNoiseSchedule, random: SeededRandom): NoisedSample {
  const steps = schedule.alphasCumprod.length;
  const timestep = Math.min(steps - 1, Math.floor(random.nextFloat() * steps));
  const a = schedule.alphasCumprod[timestep]!;
  const signal = Math.sqrt(a);
  const sigma = Math.sqrt(1 - a);
  const noisy = new Float32Array(x0.length);
  const target = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const eps = random.nextGaussian();
    noisy[i] = signal * x0[i]! + sigma * eps;
    target[i] = schedule.prediction === 'epsilon' ? eps : signal * eps - sigma * x0[i]!;
  }
  return { timestep, noisy, target };
}
