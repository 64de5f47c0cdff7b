/**
 * Shared state of the sigma-based Euler schedulers (Euler, Euler ancestral) with diffusers' semantics: the
 * training sigmas, the inference timesteps and sigmas (linearly interpolated at the float timesteps, or Karras
 * sigmas), inputs scaled by 1/sqrt(sigma^2+1), x0 from the model output, and the step counter.
 */
import type { FloatTensor } from '../spec/tensor.js';
import { unsupported, type ConfigValue } from './config.js';
import { checkSameShape, checkStepIndex, combined, notReady } from './prediction.js';
import { checkStepCount, indexForTimestep, interpOnIndexGrid, spacedTimesteps, type CommonSchedulerConfig } from './schedule.js';
import { karrasSigmas, logSigmas, sigmaTables, sigmaToT, withFinalSigma } from './sigmas.js';

export interface SigmaConfig extends CommonSchedulerConfig {
  use_karras_sigmas?: boolean;
  sigma_min?: number | null;
  sigma_max?: number | null;
  timestep_type?: 'discrete' | 'continuous';
  final_sigmas_type?: 'zero' | 'sigma_min';
}

/** Base of EulerScheduler and EulerAncestralScheduler: everything but step(). */
export abstract class SigmaSchedulerBase {
  abstract readonly name: 'euler' | 'euler-ancestral';
  readonly order = 1;
  readonly config: Readonly<Record<string, ConfigValue>>;
  timesteps: number[] = [];
  sigmas: number[] = [];
  stepIndex: number | undefined;
  initNoiseSigma = 1;
  protected readonly c: SigmaConfig;
  protected readonly alphasCumprod: Float64Array;
  protected readonly trainSigmas: Float64Array;

  constructor(config: Record<string, ConfigValue>) {
    this.config = config;
    this.c = config as unknown as SigmaConfig;
    for (const key of ['use_exponential_sigmas', 'use_beta_sigmas'] as const) {
      if (config[key] === true) unsupported(String(config['_class_name']), key, true, 'use use_karras_sigmas or the default sigmas');
    }
    if (config['interpolation_type'] === 'log_linear') unsupported(String(config['_class_name']), 'interpolation_type', 'log_linear', "use 'linear'");
    const tables = sigmaTables(this.c);
    this.alphasCumprod = tables.alphasCumprod;
    this.trainSigmas = tables.trainSigmas;
    this.initNoiseSigma = this.initNoiseFor(this.trainSigmas[this.trainSigmas.length - 1]!);
  }

  private initNoiseFor(maxSigma: number): number {
    return this.c.timestep_spacing === 'linspace' || this.c.timestep_spacing === 'trailing' ? maxSigma : Math.sqrt(maxSigma * maxSigma + 1);
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.c.num_train_timesteps;
    checkStepCount(this.name, numInferenceSteps, T);
    let timesteps = spacedTimesteps(this.c.timestep_spacing, T, numInferenceSteps, this.c.steps_offset, false).map(Math.fround);
    let sigmas = timesteps.map((t) => interpOnIndexGrid(t, this.trainSigmas));
    if (this.c.use_karras_sigmas) {
      const logs = logSigmas(this.trainSigmas);
      sigmas = karrasSigmas(this.c.sigma_min ?? sigmas[sigmas.length - 1]!, this.c.sigma_max ?? sigmas[0]!, numInferenceSteps);
      timesteps = sigmas.map((s) => Math.fround(sigmaToT(s, logs)));
    }
    this.sigmas = withFinalSigma(sigmas, this.trainSigmas, this.c.final_sigmas_type);
    if (this.c.timestep_type === 'continuous' && this.c.prediction_type === 'v_prediction') {
      timesteps = this.sigmas.slice(0, -1).map((s) => Math.fround(0.25 * Math.log(s)));
    }
    this.timesteps = timesteps;
    this.stepIndex = undefined;
    this.initNoiseSigma = this.initNoiseFor(Math.max(...this.sigmas));
  }

  protected ensureStepIndex(timestep: number): number {
    if (this.timesteps.length === 0) notReady(this.name);
    this.stepIndex ??= indexForTimestep(this.timesteps, timestep, this.name);
    return checkStepIndex(this.name, this.stepIndex, this.timesteps.length);
  }

  /** sample / sqrt(sigma^2 + 1) at the current step. */
  scaleModelInput(sample: FloatTensor, timestep: number): FloatTensor {
    const sigma = this.sigmas[this.ensureStepIndex(timestep)]!;
    const divisor = Math.fround(Math.sqrt(sigma * sigma + 1));
    const out = new Float32Array(sample.data.length);
    for (let i = 0; i < out.length; i++) out[i] = sample.data[i]! / divisor;
    return { data: out, dims: [...sample.dims] };
  }

  /** x0 from the model output at noise level sigma, written into a new array. */
  protected predictX0(modelOutput: FloatTensor, sample: FloatTensor, sigma: number): Float32Array {
    checkSameShape(this.name, modelOutput, sample);
    const m = modelOutput.data;
    const s = sample.data;
    const x0 = new Float32Array(s.length);
    if (this.c.prediction_type === 'epsilon') {
      for (let i = 0; i < s.length; i++) x0[i] = s[i]! - sigma * m[i]!;
    } else if (this.c.prediction_type === 'v_prediction') {
      const a = -sigma / Math.sqrt(sigma * sigma + 1);
      const b = 1 / (sigma * sigma + 1);
      for (let i = 0; i < s.length; i++) x0[i] = m[i]! * a + s[i]! * b;
    } else {
      x0.set(m);
    }
    return x0;
  }

  /** x0 + sigma noise at the step of `timestep` (the current step once sampling started). */
  addNoise(original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor {
    checkSameShape(this.name, noise, original);
    if (this.timesteps.length === 0) notReady(this.name);
    const index = this.stepIndex ?? indexForTimestep(this.timesteps, timestep, this.name);
    return combined(1, original, this.sigmas[index]!, noise);
  }
}
