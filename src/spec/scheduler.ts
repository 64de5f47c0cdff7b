import type { FloatTensor } from './tensor.js';

/** Prediction type of the UNet output, as in diffusers' scheduler_config.json. */
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** The known scheduler names (CLI `--scheduler` and `_class_name` in scheduler_config.json). */
export type SchedulerName = 'ddim' | 'ddpm' | 'pndm' | 'euler' | 'euler-ancestral' | 'dpm-solver++' | 'lcm';

/**
 * A diffusion scheduler with diffusers semantics. An instance holds state for ONE generation:
 * make a new one per run (schedulers/index.ts `createScheduler`).
 * All tensors are float32, shaped [batch, channels, height, width].
 */
export interface Scheduler {
  readonly name: SchedulerName;
  /** The full config, defaults filled (round-trips to scheduler_config.json). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Number of model evaluations per step (1 for all schedulers here except PNDM's warm-up, which is handled inside). */
  readonly order: number;
  /** Std of the initial noise (1 for DDPM-style, sqrt(sigma_max^2+1) or sigma_max for Euler-style). */
  readonly initNoiseSigma: number;
  /** Timesteps after setTimesteps, in the order the UNet is called. */
  readonly timesteps: readonly number[];
  /** Noise levels sigma_t = sqrt((1 - alphabar_t) / alphabar_t) per step plus the final one, for sigma-based schedulers (Euler, DPM-Solver); undefined otherwise. */
  readonly sigmas?: readonly number[];
  /** Index into `timesteps` of the next step, for schedulers that count steps (Euler family, DPM-Solver, LCM); undefined before the first step. */
  readonly stepIndex?: number;
  setTimesteps(numInferenceSteps: number): void;
  /** Scale the latents before the UNet call at `timestep` (identity except for sigma-based schedulers). */
  scaleModelInput(sample: FloatTensor, timestep: number): FloatTensor;
  /**
   * One denoising step. `random` supplies noise for stochastic schedulers (DDPM, Euler ancestral, LCM, and DDIM
   * with eta > 0). Returns the previous sample and the predicted clean sample x0.
   */
  step(
    modelOutput: FloatTensor,
    timestep: number,
    sample: FloatTensor,
    random?: NoiseSource,
    options?: StepOptions,
  ): { prevSample: FloatTensor; predOriginalSample: FloatTensor };
  /** Forward diffusion q(x_t | x_0). */
  addNoise(original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor;
}

/** Per-step options, as diffusers passes them to `step` (schedulers that do not know one ignore it). */
export interface StepOptions {
  /** DDIM's eta (Song et al. 2021, eq. 16): 0 is deterministic DDIM, 1 the DDPM-like variance. Default 0. */
  eta?: number;
}

export interface NoiseSource {
  fillGaussian(out: Float32Array, std?: number): Float32Array;
}

/** The scheduler that ran, as result.json records it: name, class, resolved config and the timesteps of the model calls. */
export interface SchedulerRecord {
  name: SchedulerName;
  className: string;
  /** The scheduler config after defaults and the Stable Diffusion pipeline fix-ups. */
  config: Readonly<Record<string, unknown>>;
  /** The timesteps the UNet was called at (PNDM's warm-up call included). */
  timesteps: readonly number[];
}
