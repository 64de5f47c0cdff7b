/**
 * DPM-Solver++ multistep (Lu et al. 2022; 2M by default, 3M with solver_order 3) with diffusers'
 * DPMSolverMultistepScheduler semantics: data prediction (x0) model, midpoint or Heun second-order
 * correction, lower-order steps at the end (lower_order_final) and final sigma 'zero' or 'sigma_min'.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, unsupported, type ConfigSchema, type ConfigValue } from './config.js';
import {
  checkSameShape,
  checkStepIndex,
  checkStepInputs,
  combined,
  dynamicThreshold,
  notReady,
  pushHistory,
  stepResult,
  type StepOutput,
  type ThresholdConfig,
} from './prediction.js';
import { arange, checkStepCount, interpOnIndexGrid, linspace, roundHalfEven, type CommonSchedulerConfig } from './schedule.js';
import { karrasSigmas, logSigmas, sigmaTables, sigmaToAlphaSigma, sigmaToT, withFinalSigma } from './sigmas.js';

export const dpmSolverSchema: ConfigSchema = {
  className: 'DPMSolverMultistepScheduler',
  defaults: {
    ...NOISE_SCHEDULE_DEFAULTS,
    solver_order: 2,
    prediction_type: 'epsilon',
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    algorithm_type: 'dpmsolver++',
    solver_type: 'midpoint',
    lower_order_final: true,
    euler_at_final: false,
    use_karras_sigmas: false,
    use_exponential_sigmas: false,
    use_beta_sigmas: false,
    use_lu_lambdas: false,
    use_flow_sigmas: false,
    flow_shift: 1.0,
    final_sigmas_type: 'zero',
    lambda_min_clipped: -Infinity,
    variance_type: null,
    timestep_spacing: 'linspace',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
  },
  choices: {
    ...COMMON_CHOICES,
    algorithm_type: ['dpmsolver++', 'dpmsolver', 'sde-dpmsolver++', 'sde-dpmsolver', 'deis'],
    solver_type: ['midpoint', 'heun', 'logrho', 'bh1', 'bh2'],
    final_sigmas_type: ['zero', 'sigma_min'],
    variance_type: ['learned', 'learned_range'],
  },
  nullable: { trained_betas: 'number[]', variance_type: 'string' },
  integers: ['num_train_timesteps', 'solver_order'],
};

interface DpmConfig extends CommonSchedulerConfig, ThresholdConfig {
  solver_order: number;
  solver_type: 'midpoint' | 'heun';
  lower_order_final: boolean;
  euler_at_final: boolean;
  use_karras_sigmas: boolean;
  final_sigmas_type: 'zero' | 'sigma_min';
  lambda_min_clipped: number;
}

export class DpmSolverMultistepScheduler implements Scheduler {
  readonly name = 'dpm-solver++' as const;
  readonly order = 1;
  readonly initNoiseSigma = 1;
  readonly config: Readonly<Record<string, ConfigValue>>;
  timesteps: number[] = [];
  sigmas: number[] = [];
  stepIndex: number | undefined;
  private readonly c: DpmConfig;
  private readonly alphasCumprod: Float64Array;
  private readonly trainSigmas: Float64Array;
  /** Last `solver_order` x0 predictions, oldest first (reused buffers). */
  private modelOutputs: Float32Array[] = [];
  private lowerOrderNums = 0;

  constructor(config: Record<string, ConfigValue>) {
    const cls = 'DPMSolverMultistepScheduler';
    // diffusers maps these legacy values to the supported ones.
    if (config['algorithm_type'] === 'deis') config['algorithm_type'] = 'dpmsolver++';
    if (config['solver_type'] === 'logrho' || config['solver_type'] === 'bh1' || config['solver_type'] === 'bh2') config['solver_type'] = 'midpoint';
    if (config['algorithm_type'] !== 'dpmsolver++') unsupported(cls, 'algorithm_type', config['algorithm_type'], "use 'dpmsolver++'");
    for (const key of ['use_exponential_sigmas', 'use_beta_sigmas', 'use_lu_lambdas', 'use_flow_sigmas'] as const) {
      if (config[key] === true) unsupported(cls, key, true, 'use use_karras_sigmas or the default sigmas');
    }
    const order = config['solver_order'] as number;
    if (order > 3) throw new PmgError('invalid-input', `scheduler config 'solver_order' (${cls}) must be 1, 2 or 3, got ${order}`);
    this.config = config;
    this.c = config as unknown as DpmConfig;
    const tables = sigmaTables(this.c);
    this.alphasCumprod = tables.alphasCumprod;
    this.trainSigmas = tables.trainSigmas;
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.c.num_train_timesteps;
    checkStepCount(this.name, numInferenceSteps, T);
    // lambda_min_clipped: drop the end of the schedule where lambda(t) = log(alpha_t / sigma_t) is below it.
    let clipped = 0;
    for (let t = T - 1; t >= 0; t--) {
      const a = this.alphasCumprod[t]!;
      const lambda = Math.fround(Math.log(Math.fround(Math.sqrt(a))) - Math.log(Math.fround(Math.sqrt(1 - a))));
      if (lambda < this.c.lambda_min_clipped) clipped++;
      else break;
    }
    const lastTimestep = T - clipped;
    let timesteps: number[];
    if (this.c.timestep_spacing === 'linspace') {
      timesteps = linspace(0, lastTimestep - 1, numInferenceSteps + 1)
        .map(roundHalfEven)
        .reverse()
        .slice(0, -1);
    } else if (this.c.timestep_spacing === 'leading') {
      const ratio = Math.floor(lastTimestep / (numInferenceSteps + 1));
      timesteps = [];
      for (let i = numInferenceSteps; i >= 1; i--) timesteps.push(i * ratio + this.c.steps_offset);
    } else {
      timesteps = arange(lastTimestep, 0, -T / numInferenceSteps).map((v) => roundHalfEven(v) - 1);
    }
    let sigmas: number[];
    if (this.c.use_karras_sigmas) {
      const logs = logSigmas(this.trainSigmas);
      const s = this.trainSigmas;
      sigmas = karrasSigmas(s[0]!, s[s.length - 1]!, numInferenceSteps);
      // diffusers rounds the fractional timesteps, except for the cosine schedule, where it leaves them
      // fractional and the final cast to int64 truncates them.
      const toInteger = this.c.beta_schedule === 'squaredcos_cap_v2' ? Math.trunc : roundHalfEven;
      timesteps = sigmas.map((v) => toInteger(sigmaToT(v, logs)));
    } else {
      sigmas = timesteps.map((t) => interpOnIndexGrid(t, this.trainSigmas));
    }
    this.sigmas = withFinalSigma(sigmas, this.trainSigmas, this.c.final_sigmas_type);
    this.timesteps = timesteps;
    this.modelOutputs = [];
    this.lowerOrderNums = 0;
    this.stepIndex = undefined;
  }

  scaleModelInput(sample: FloatTensor): FloatTensor {
    return sample;
  }

  private initStepIndex(timestep: number): number {
    const first = this.timesteps.indexOf(timestep);
    if (first < 0) return this.timesteps.length - 1;
    const second = this.timesteps.indexOf(timestep, first + 1);
    return second >= 0 ? second : first;
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, _random?: NoiseSource): StepOutput {
    checkStepInputs(this.name, this.timesteps, modelOutput, sample);
    this.stepIndex ??= this.initStepIndex(timestep);
    const count = this.timesteps.length;
    const i = checkStepIndex(this.name, this.stepIndex, count);
    const lowerOrderFinal = i === count - 1 && (this.c.euler_at_final || (this.c.lower_order_final && count < 15) || this.c.final_sigmas_type === 'zero');
    const lowerOrderSecond = i === count - 2 && this.c.lower_order_final && count < 15;

    const x0 = this.convertModelOutput(modelOutput, sample, this.sigmas[i]!);
    pushHistory(this.modelOutputs, this.c.solver_order, x0);
    const s = sample.data;
    const prev = new Float32Array(s.length);
    const order = this.c.solver_order;
    if (order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) this.firstOrder(i, s, prev);
    else if (order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) this.secondOrder(i, s, prev);
    else this.thirdOrder(i, s, prev);
    if (this.lowerOrderNums < order) this.lowerOrderNums++;
    this.stepIndex = i + 1;
    return stepResult(prev, x0, sample.dims);
  }

  private convertModelOutput(modelOutput: FloatTensor, sample: FloatTensor, sigma: number): Float32Array {
    const [alpha, sigmaT] = sigmaToAlphaSigma(sigma);
    const m = modelOutput.data;
    const s = sample.data;
    const x0 = new Float32Array(s.length);
    const p = this.c.prediction_type;
    if (p === 'epsilon') for (let k = 0; k < s.length; k++) x0[k] = (s[k]! - sigmaT * m[k]!) / alpha;
    else if (p === 'v_prediction') for (let k = 0; k < s.length; k++) x0[k] = alpha * s[k]! - sigmaT * m[k]!;
    else x0.set(m);
    if (this.c.thresholding) dynamicThreshold(x0, sample.dims, this.c.dynamic_thresholding_ratio, this.c.sample_max_value);
    return x0;
  }

  private lambdaOf(sigma: number): [number, number, number] {
    const [alpha, sigmaT] = sigmaToAlphaSigma(sigma);
    return [alpha, sigmaT, Math.log(alpha) - Math.log(sigmaT)];
  }

  private firstOrder(i: number, s: Float32Array, out: Float32Array): void {
    const [alphaT, sigmaT, lambdaT] = this.lambdaOf(this.sigmas[i + 1]!);
    const [, sigmaS, lambdaS] = this.lambdaOf(this.sigmas[i]!);
    const h = lambdaT - lambdaS;
    const a = sigmaT / sigmaS;
    const b = alphaT * (Math.exp(-h) - 1);
    const m0 = this.modelOutputs[this.modelOutputs.length - 1]!;
    for (let k = 0; k < out.length; k++) out[k] = a * s[k]! - b * m0[k]!;
  }

  private secondOrder(i: number, s: Float32Array, out: Float32Array): void {
    const [alphaT, sigmaT, lambdaT] = this.lambdaOf(this.sigmas[i + 1]!);
    const [, sigmaS0, lambdaS0] = this.lambdaOf(this.sigmas[i]!);
    const [, , lambdaS1] = this.lambdaOf(this.sigmas[i - 1]!);
    const n = this.modelOutputs.length;
    const m0 = this.modelOutputs[n - 1]!;
    const m1 = this.modelOutputs[n - 2]!;
    const h = lambdaT - lambdaS0;
    const r0 = (lambdaS0 - lambdaS1) / h;
    const a = sigmaT / sigmaS0;
    const e = Math.exp(-h) - 1;
    const b = alphaT * e;
    // D1 = (m0 - m1) / r0
    const c1 = this.c.solver_type === 'midpoint' ? -0.5 * b : alphaT * (e / h + 1);
    for (let k = 0; k < out.length; k++) {
      const d1 = (1 / r0) * (m0[k]! - m1[k]!);
      out[k] = a * s[k]! - b * m0[k]! + c1 * d1;
    }
  }

  private thirdOrder(i: number, s: Float32Array, out: Float32Array): void {
    const [alphaT, sigmaT, lambdaT] = this.lambdaOf(this.sigmas[i + 1]!);
    const [, sigmaS0, lambdaS0] = this.lambdaOf(this.sigmas[i]!);
    const [, , lambdaS1] = this.lambdaOf(this.sigmas[i - 1]!);
    const [, , lambdaS2] = this.lambdaOf(this.sigmas[i - 2]!);
    const n = this.modelOutputs.length;
    const m0 = this.modelOutputs[n - 1]!;
    const m1 = this.modelOutputs[n - 2]!;
    const m2 = this.modelOutputs[n - 3]!;
    const h = lambdaT - lambdaS0;
    const r0 = (lambdaS0 - lambdaS1) / h;
    const r1 = (lambdaS1 - lambdaS2) / h;
    const e = Math.exp(-h) - 1;
    const a = sigmaT / sigmaS0;
    const cD0 = alphaT * e;
    const cD1 = alphaT * (e / h + 1);
    const cD2 = alphaT * ((e + h) / (h * h) - 0.5);
    for (let k = 0; k < out.length; k++) {
      const d10 = (1 / r0) * (m0[k]! - m1[k]!);
      const d11 = (1 / r1) * (m1[k]! - m2[k]!);
      const d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11);
      const d2 = (1 / (r0 + r1)) * (d10 - d11);
      out[k] = a * s[k]! - cD0 * m0[k]! + cD1 * d1 - cD2 * d2;
    }
  }

  /** alpha_t x0 + sigma_t noise at the step of `timestep`. */
  addNoise(original: FloatTensor, noise: FloatTensor, timestep: number): FloatTensor {
    checkSameShape(this.name, noise, original);
    if (this.timesteps.length === 0) notReady(this.name);
    const index = this.stepIndex ?? this.initStepIndex(timestep);
    const [alpha, sigmaT] = sigmaToAlphaSigma(this.sigmas[index]!);
    return combined(alpha, original, sigmaT, noise);
  }
}
