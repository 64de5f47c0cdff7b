/**
 * Shared state and steps of the alphabar-based (variance-preserving) schedulers DDIM, DDPM, PNDM and LCM:
 * alphas_cumprod from the config's betas, identity input scaling, x0 from the model output, and q(x_t | x_0).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { FloatTensor } from '../spec/tensor.js';
import type { ConfigValue } from './config.js';
import { axpby, checkSameShape, checkStepInputs, combined, vpCoefficients, type VpCoefficients } from './prediction.js';
import { alphasCumprod, makeBetas, type CommonSchedulerConfig } from './schedule.js';

/** Config fields read by every VP scheduler. */
export interface VpConfig extends CommonSchedulerConfig {
  /** abar "before" timestep 0: 1 if true, else abar_0. DDPM has no such key: its value there is 1. */
  set_alpha_to_one?: boolean;
}

export abstract class VpSchedulerBase<C extends VpConfig> {
  abstract readonly name: 'ddim' | 'ddpm' | 'pndm' | 'lcm';
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly config: Readonly<Record<string, ConfigValue>>;
  timesteps: number[] = [];
  protected readonly c: C;
  protected readonly alphasCumprod: Float64Array;
  private readonly finalAlphaCumprod: number;

  constructor(config: Record<string, ConfigValue>) {
    this.config = config;
    this.c = config as unknown as C;
    this.alphasCumprod = alphasCumprod(makeBetas(this.c));
    this.finalAlphaCumprod = (this.c.set_alpha_to_one ?? true) ? 1 : this.alphasCumprod[0]!;
  }

  scaleModelInput(sample: FloatTensor): FloatTensor {
    return sample;
  }

  /** alphas_cumprod at `timestep`; the final value (see set_alpha_to_one) for timesteps below 0. */
  protected alphaProdAt(timestep: number): number {
    return timestep >= 0 ? this.alphasCumprod[timestep]! : this.finalAlphaCumprod;
  }

  protected checkStep(modelOutput: FloatTensor, sample: FloatTensor): void {
    checkStepInputs(this.name, this.timesteps, modelOutput, sample);
  }

  /** x0 (into a new array) and the coefficients that gave it, from the model output at alphas_cumprod `alphaProd`. */
  protected predictOriginal(modelOutput: FloatTensor, sample: FloatTensor, alphaProd: number): { x0: Float32Array; k: VpCoefficients } {
    const k = vpCoefficients(this.c.prediction_type, alphaProd);
    const x0 = axpby(k.x0Sample, sample.data, k.x0Model, modelOutput.data, new Float32Array(sample.data.length));
    return { x0, k };
  }

  /** q(x_t | x_0): sqrt(abar_t) x0 + sqrt(1 - abar_t) noise. */
  addNoise(original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor {
    checkSameShape(this.name, noise, original);
    const count = this.alphasCumprod.length;
    if (!Number.isInteger(timestep) || timestep < 0 || timestep >= count) {
      throw new PmgError('invalid-argument', `scheduler '${this.name}': addNoise timestep must be an integer from 0 to ${count - 1}, got ${timestep}`);
    }
    const alphaProd = this.alphasCumprod[timestep]!;
    return combined(Math.sqrt(alphaProd), original, Math.sqrt(1 - alphaProd), noise);
  }
}
