/**
 * PNDM (Liu et al. 2022) with diffusers' PNDMScheduler semantics: Runge-Kutta warm-up (PRK) unless
 * skip_prk_steps, then linear multistep (PLMS). Stable Diffusion 1.x uses skip_prk_steps = true, whose first
 * timestep is called twice (a second-order warm-up step).
 */
import { PmgError } from '../errors/pmg-error.js';
import type { NoiseSource, Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { COMMON_CHOICES, NOISE_SCHEDULE_DEFAULTS, type ConfigSchema } from './config.js';
import { pushHistory, scratch, stepResult, type StepOutput } from './prediction.js';
import { arange, checkStepCount, linspace, roundHalfEven } from './schedule.js';
import { VpSchedulerBase, type VpConfig } from './vp-scheduler.js';

export const pndmSchema: ConfigSchema = {
  className: 'PNDMScheduler',
  defaults: {
    ...NOISE_SCHEDULE_DEFAULTS,
    skip_prk_steps: false,
    set_alpha_to_one: false,
    prediction_type: 'epsilon',
    timestep_spacing: 'leading',
    steps_offset: 0,
  },
  choices: { ...COMMON_CHOICES, prediction_type: ['epsilon', 'v_prediction'] },
  nullable: { trained_betas: 'number[]' },
  integers: ['num_train_timesteps'],
};

const PNDM_ORDER = 4;

export class PndmScheduler extends VpSchedulerBase<VpConfig & { skip_prk_steps: boolean }> implements Scheduler {
  readonly name = 'pndm' as const;
  private numInferenceSteps = 0;
  private prkCount = 0;
  private prkTimesteps: number[] = [];
  /** The last model outputs (at most PNDM_ORDER), oldest first: internal copies. */
  private ets: Float32Array[] = [];
  private counter = 0;
  // Internal scratch, reused across steps (never returned): the PRK sum of model outputs, the sample a
  // warm-up step starts from, and the PLMS combination of model outputs.
  private curModelOutput: Float32Array | undefined;
  private curSample: Float32Array | undefined;
  private combinedOutput: Float32Array | undefined;

  setTimesteps(numInferenceSteps: number): void {
    const T = this.c.num_train_timesteps;
    checkStepCount(this.name, numInferenceSteps, T);
    if (!this.c.skip_prk_steps && numInferenceSteps < PNDM_ORDER) {
      throw new PmgError(
        'invalid-argument',
        `scheduler 'pndm' with PRK warm-up needs at least ${PNDM_ORDER} steps, got ${numInferenceSteps}; use more steps or skip_prk_steps: true`,
      );
    }
    this.numInferenceSteps = numInferenceSteps;
    // Ascending timesteps.
    let base: number[];
    if (this.c.timestep_spacing === 'linspace') base = linspace(0, T - 1, numInferenceSteps).map(roundHalfEven);
    else if (this.c.timestep_spacing === 'leading') {
      const ratio = Math.floor(T / numInferenceSteps);
      base = Array.from({ length: numInferenceSteps }, (_, i) => i * ratio + this.c.steps_offset);
    } else
      base = arange(T, 0, -T / numInferenceSteps)
        .map(roundHalfEven)
        .reverse()
        .map((v) => v - 1);

    let plms: number[];
    if (this.c.skip_prk_steps) {
      this.prkTimesteps = [];
      plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
    } else {
      const half = Math.floor(Math.floor(T / numInferenceSteps) / 2);
      const lastFour = base.slice(-PNDM_ORDER);
      const prk: number[] = [];
      for (const t of lastFour) prk.push(t, t + half);
      const dropLast = prk.slice(0, -1);
      const doubled: number[] = [];
      for (const t of dropLast) doubled.push(t, t);
      this.prkTimesteps = doubled.slice(1, -1).reverse();
      plms = base.slice(0, -3).reverse();
    }
    this.prkCount = this.prkTimesteps.length;
    this.timesteps = [...this.prkTimesteps, ...plms];
    this.ets = [];
    this.counter = 0;
    this.curModelOutput = undefined;
    this.curSample = undefined;
  }

  step(modelOutput: FloatTensor, timestep: number, sample: FloatTensor, _random?: NoiseSource): StepOutput {
    this.checkStep(modelOutput, sample);
    // x0 from this call's model output, for previews (diffusers' PNDM does not return one).
    const { x0 } = this.predictOriginal(modelOutput, sample, this.alphasCumprod[timestep]!);
    const prev =
      this.counter < this.prkCount && !this.c.skip_prk_steps
        ? this.stepPrk(modelOutput.data, timestep, sample.data)
        : this.stepPlms(modelOutput.data, timestep, sample.data);
    return stepResult(prev, x0, sample.dims);
  }

  /** Keep a copy of `sample` in the reused curSample buffer. */
  private saveSample(sample: Float32Array): void {
    this.curSample = scratch(this.curSample, sample.length);
    this.curSample.set(sample);
  }

  private stepPrk(m: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const stride = Math.floor(this.c.num_train_timesteps / this.numInferenceSteps);
    const diffToPrev = this.counter % 2 ? 0 : Math.floor(stride / 2);
    const prevTimestep = timestep - diffToPrev;
    const t = this.prkTimesteps[Math.floor(this.counter / 4) * 4]!;
    const phase = this.counter % 4;
    const n = m.length;
    let output = m;
    if (phase === 0) {
      const acc = (this.curModelOutput = scratch(this.curModelOutput, n));
      for (let i = 0; i < n; i++) acc[i] = m[i]! / 6;
      pushHistory(this.ets, PNDM_ORDER, m);
      this.saveSample(sample);
    } else if (phase === 1 || phase === 2) {
      const acc = this.curModelOutput!;
      for (let i = 0; i < n; i++) acc[i] = acc[i]! + m[i]! / 3;
    } else {
      // The sum is complete: finish it in place and use it as this step's model output.
      output = this.curModelOutput!;
      for (let i = 0; i < n; i++) output[i] = output[i]! + m[i]! / 6;
    }
    const base = this.curSample ?? sample;
    this.counter++;
    return this.prevSample(base, t, prevTimestep, output);
  }

  private stepPlms(m: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const stride = Math.floor(this.c.num_train_timesteps / this.numInferenceSteps);
    let prevTimestep = timestep - stride;
    let t = timestep;
    if (this.counter !== 1) {
      pushHistory(this.ets, PNDM_ORDER, m);
    } else {
      prevTimestep = timestep;
      t = timestep + stride;
    }
    const e = this.ets;
    const n = m.length;
    let output: Float32Array;
    let base = sample;
    if (e.length === 1 && this.counter === 0) {
      output = m;
      this.saveSample(sample);
    } else if (e.length === 1 && this.counter === 1) {
      output = this.combinedOutput = scratch(this.combinedOutput, n);
      const last = e[0]!;
      for (let i = 0; i < n; i++) output[i] = (m[i]! + last[i]!) / 2;
      base = this.curSample!;
    } else {
      output = this.combinedOutput = scratch(this.combinedOutput, n);
      const l = e.length;
      if (l === 2) {
        const [a, b] = [e[1]!, e[0]!];
        for (let i = 0; i < n; i++) output[i] = (3 * a[i]! - b[i]!) / 2;
      } else if (l === 3) {
        const [a, b, c] = [e[2]!, e[1]!, e[0]!];
        for (let i = 0; i < n; i++) output[i] = (23 * a[i]! - 16 * b[i]! + 5 * c[i]!) / 12;
      } else {
        const [a, b, c, d] = [e[l - 1]!, e[l - 2]!, e[l - 3]!, e[l - 4]!];
        for (let i = 0; i < n; i++) output[i] = (1 / 24) * (55 * a[i]! - 59 * b[i]! + 37 * c[i]! - 9 * d[i]!);
      }
    }
    this.counter++;
    return this.prevSample(base, t, prevTimestep, output);
  }

  /** Formula (9) of the PNDM paper: the transfer from x_t to x_{t-delta} given an epsilon estimate. */
  private prevSample(sample: Float32Array, timestep: number, prevTimestep: number, modelOutput: Float32Array): Float32Array {
    const alphaProd = this.alphasCumprod[timestep]!;
    const alphaProdPrev = this.alphaProdAt(prevTimestep);
    const betaProd = 1 - alphaProd;
    const betaProdPrev = 1 - alphaProdPrev;
    const n = sample.length;
    const isV = this.c.prediction_type === 'v_prediction';
    const sa = Math.sqrt(alphaProd);
    const sb = Math.sqrt(betaProd);
    const sampleCoeff = Math.sqrt(alphaProdPrev / alphaProd);
    const denom = alphaProd * Math.sqrt(betaProdPrev) + Math.sqrt(alphaProd * betaProd * alphaProdPrev);
    const modelCoeff = (alphaProdPrev - alphaProd) / denom;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const eps = isV ? sa * modelOutput[i]! + sb * sample[i]! : modelOutput[i]!;
      out[i] = sampleCoeff * sample[i]! - modelCoeff * eps;
    }
    return out;
  }
}
