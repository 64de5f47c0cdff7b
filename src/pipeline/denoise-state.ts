/**
 * Stages 3-5 of the pipeline for a batch of candidates: timesteps, seeded latents, and the denoising
 * loop with classifier-free guidance in batched UNet calls: the UNet rows (each candidate's unconditional
 * and conditional half) are grouped by token length, and each group is ONE UNet call per step, its
 * unconditional halves first, then its conditional halves, as diffusers concatenates them. When every
 * candidate has the same length (the common case) that is one call per step for the whole batch;
 * candidates of different lengths are never padded to each other's length. With `maxRowsPerCall` (the memory
 * plan, unet-slice-plan.ts) a group larger than that runs in balanced slices of at most that many rows; each row's
 * output does not depend on the rows beside it, so slicing changes memory and call count, never the result.
 *
 * The state can be advanced a few steps at a time, read (latents and the predicted clean sample x0
 * of every candidate), narrowed to chosen candidates with `keep`, and continued; each candidate has
 * its own scheduler instance and its own seeded random stream, so its result does not depend on
 * which other candidates share the batch.
 */
import { PmgError } from '../errors/pmg-error.js';
import { SeededRandom } from '../core/random.js';
import type { Unet } from '../spec/diffusion-models.js';
import type { Scheduler, StepOptions } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import type { EncodedConditioning } from './conditioning.js';
import { schedulerRecordOf, type SchedulerRecord } from './generation-record.js';
import { planUnetSlices, type UnetSlicePlan } from './unet-slice-plan.js';

export interface DenoiseCandidate extends EncodedConditioning {
  /** Seed of the initial noise (and of the scheduler's noise for stochastic schedulers). */
  seed: number;
  /**
   * Start from these latents `[1, 4, h/8, w/8]` instead of seeded noise; like diffusers' prepare_latents, they are
   * multiplied by the scheduler's init_noise_sigma (unit-variance noise in, the scheduler's starting scale out).
   */
  latents?: FloatTensor;
}

export interface DenoiseSettings {
  unet: Unet;
  /** A fresh scheduler (they hold per-generation state); called once per candidate. */
  createScheduler: () => Scheduler;
  steps: number;
  /** Classifier-free guidance scale; at most 1 means no guidance (conditional half only). */
  guidanceScale: number;
  width: number;
  height: number;
  /** DDIM's eta (other schedulers ignore it). Default 0. */
  eta?: number;
  /** At most this many UNet rows per call (default: a whole token-length group in one call). */
  maxRowsPerCall?: number;
  /** The memory plan that chose maxRowsPerCall, kept for the result's record. */
  slicePlan?: UnetSlicePlan;
}

export interface StepEvent {
  /** 0-based index of the UNet call just done, and the number of calls (PNDM makes one more than the steps). */
  step: number;
  stepCount: number;
  /**
   * Progress in the steps the caller asked for: `requestedSteps` in all, `stepsDone` of them done. Calls before the
   * last `requestedSteps` are warm-up (PNDM's extra first call, its Runge-Kutta warm-up) and count as 0, as in
   * diffusers' progress bar.
   */
  stepsDone: number;
  requestedSteps: number;
  timestep: number;
  /** Indices (into the original candidate list) of the candidates still running. */
  candidates: readonly number[];
  /** Latents after this step, `[k, 4, h/8, w/8]`. */
  latents: FloatTensor;
  /** Predicted clean latents x0 at this step, `[k, 4, h/8, w/8]`. */
  predictedOriginal(): FloatTensor;
}

export interface RunOptions {
  /** Stop before this step index (default: the end). */
  until?: number;
  signal?: AbortSignal;
  onStep?: (event: StepEvent) => void | Promise<void>;
}

interface Slot {
  index: number;
  seed: number;
  conditioning: EncodedConditioning;
  scheduler: Scheduler;
  random: SeededRandom;
  latents: Float32Array;
  x0: Float32Array | undefined;
}

/** One UNet call per step: rows of equal token length (slot index into `slots`, and which half). */
interface Group {
  rows: { slot: number; cond: boolean }[];
  states: FloatTensor;
  /** Input buffer, reused across steps (each call is awaited before it is rewritten). */
  sample: Float32Array;
}

export class DenoiseState {
  private slots: Slot[];
  private groups: Group[] | undefined;
  private stepIndex = 0;
  private readonly stepOptions: StepOptions;
  readonly timesteps: readonly number[];
  readonly latentDims: number[];

  constructor(
    private readonly settings: DenoiseSettings,
    candidates: readonly DenoiseCandidate[],
  ) {
    if (candidates.length === 0) throw new PmgError('invalid-argument', 'nothing to generate: the batch has no candidates');
    const limit = settings.maxRowsPerCall;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw new PmgError('invalid-argument', `maxRowsPerCall must be a whole number >= 1, got ${limit}`);
    this.latentDims = [1, settings.unet.inChannels, settings.height / 8, settings.width / 8];
    this.stepOptions = settings.eta ? { eta: settings.eta } : {};
    const size = this.latentDims.reduce((a, b) => a * b, 1);
    this.slots = candidates.map((c, index) => {
      const scheduler = settings.createScheduler();
      scheduler.setTimesteps(settings.steps);
      const random = new SeededRandom(c.seed);
      let latents: Float32Array;
      if (c.latents) {
        if (c.latents.data.length !== size)
          throw new PmgError(
            'invalid-argument',
            `latents of candidate ${index} have ${c.latents.data.length} values; expected ${size} for [${this.latentDims.join(', ')}]`,
          );
        const sigma = scheduler.initNoiseSigma;
        latents = Float32Array.from(c.latents.data, (v) => v * sigma);
      } else {
        latents = random.fillGaussian(new Float32Array(size), scheduler.initNoiseSigma);
      }
      return { index, seed: c.seed, conditioning: c, scheduler, random, latents, x0: undefined };
    });
    this.timesteps = this.slots[0]!.scheduler.timesteps;
  }

  get stepCount(): number {
    return this.timesteps.length;
  }

  /** The scheduler of this run (every candidate has its own instance of the same one). */
  get schedulerRecord(): SchedulerRecord {
    return schedulerRecordOf(this.slots[0]!.scheduler, this.timesteps);
  }

  /** The memory plan of the UNet calls (a 'no-plan' one when the caller gave none). */
  get slicePlan(): UnetSlicePlan {
    if (this.settings.slicePlan) return this.settings.slicePlan;
    const rows = this.slots.length * (this.guided ? 2 : 1);
    const rowsPerCall = Math.min(rows, this.settings.maxRowsPerCall ?? rows);
    return {
      ...planUnetSlices({ rows, latentHeight: this.latentDims[2]!, latentWidth: this.latentDims[3]! }),
      rowsPerCall,
      calls: Math.ceil(rows / rowsPerCall),
    };
  }

  /** UNet calls done so far. */
  get step(): number {
    return this.stepIndex;
  }

  get done(): boolean {
    return this.stepIndex >= this.stepCount;
  }

  /** Original indices of the candidates still running. */
  get candidates(): number[] {
    return this.slots.map((s) => s.index);
  }

  /** Seeds of the candidates still running. */
  get seeds(): number[] {
    return this.slots.map((s) => s.seed);
  }

  /** Context length (tokens of the conditional half: text windows plus extra tokens) of the candidates still running. */
  get contextTokens(): number[] {
    return this.slots.map((s) => s.conditioning.cond.dims[1]!);
  }

  private get guided(): boolean {
    return this.settings.guidanceScale > 1;
  }

  /** Keep only these candidates (original indices) for the remaining steps. */
  keep(indices: readonly number[]): void {
    const wanted = new Set(indices);
    const kept = this.slots.filter((s) => wanted.has(s.index));
    if (kept.length !== wanted.size)
      throw new PmgError('invalid-argument', `keep(${[...indices].join(', ')}): not every index is a running candidate (${this.candidates.join(', ')})`);
    if (kept.length === 0) throw new PmgError('invalid-argument', 'keep() needs at least one candidate');
    this.slots = kept;
    this.groups = undefined;
  }

  latents(): FloatTensor {
    return this.stack((s) => s.latents);
  }

  /** x0 predicted at the last step (the current latents before any step). */
  predictedOriginal(): FloatTensor {
    return this.stack((s) => s.x0 ?? s.latents);
  }

  async run(options: RunOptions = {}): Promise<void> {
    const until = Math.min(options.until ?? this.stepCount, this.stepCount);
    while (this.stepIndex < until) {
      if (options.signal?.aborted)
        throw new PmgError('aborted', `generation stopped at step ${this.stepIndex} of ${this.stepCount}`, { cause: options.signal.reason });
      await this.advance();
      if (options.onStep) {
        // Latents are stacked only when the callback reads them (keeps the hot loop cheap).
        const state = this;
        const requested = this.settings.steps;
        await options.onStep({
          step: this.stepIndex - 1,
          stepCount: this.stepCount,
          stepsDone: Math.max(0, this.stepIndex - Math.max(0, this.stepCount - requested)),
          requestedSteps: requested,
          timestep: this.timesteps[this.stepIndex - 1]!,
          candidates: this.candidates,
          get latents() {
            return state.latents();
          },
          predictedOriginal: () => this.predictedOriginal(),
        });
      }
    }
    if (options.signal?.aborted && this.stepIndex < this.stepCount)
      throw new PmgError('aborted', `generation stopped at step ${this.stepIndex} of ${this.stepCount}`, { cause: options.signal.reason });
  }

  /** One denoising step for every running candidate: one UNet call per token length. */
  private async advance(): Promise<void> {
    const t = this.timesteps[this.stepIndex]!;
    const size = this.slots[0]!.latents.length;
    const groups = this.unetGroups();
    const scaled = this.slots.map((slot) => slot.scheduler.scaleModelInput({ data: slot.latents, dims: this.latentDims }, t).data);
    const uncondOut: Float32Array[] = new Array(this.slots.length);
    const condOut: Float32Array[] = new Array(this.slots.length);
    for (const group of groups) {
      const sample = group.sample;
      group.rows.forEach((row, j) => sample.set(scaled[row.slot]!, j * size));
      const output = await this.settings.unet.predict({ data: sample, dims: [group.rows.length, ...this.latentDims.slice(1)] }, t, group.states);
      if (output.data.length !== sample.length) {
        throw new PmgError('model-layout', `UNet returned ${output.data.length} values for a sample of ${sample.length}`);
      }
      // With several calls per step, copy: a later call may reuse the output buffer.
      group.rows.forEach((row, j) => {
        const part = groups.length > 1 ? output.data.slice(j * size, (j + 1) * size) : output.data.subarray(j * size, (j + 1) * size);
        (row.cond ? condOut : uncondOut)[row.slot] = part;
      });
    }
    const g = this.settings.guidanceScale;
    this.slots.forEach((slot, i) => {
      let noise: Float32Array;
      if (this.guided) {
        noise = guide(uncondOut[i]!, condOut[i]!, g, new Float32Array(size));
      } else {
        noise = condOut[i]!.slice();
      }
      const result = slot.scheduler.step(
        { data: noise, dims: this.latentDims },
        t,
        { data: slot.latents, dims: this.latentDims },
        slot.random,
        this.stepOptions,
      );
      slot.latents = result.prevSample.data;
      slot.x0 = result.predOriginalSample.data;
    });
    this.stepIndex++;
  }

  /** Token length of every UNet call per step (one entry per call, in call order). */
  get unetCallLengths(): number[] {
    return this.unetGroups().map((g) => g.states.dims[1]!);
  }

  /** Rows (batch size) of every UNet call per step, in call order. */
  get unetCallRows(): number[] {
    return this.unetGroups().map((g) => g.rows.length);
  }

  /**
   * The UNet calls of one step: rows (unconditional halves of all candidates, then conditional halves)
   * grouped by token length, in order of first appearance, each group cut into slices of at most `maxRowsPerCall`;
   * each call's encoder states `[rows, tokens, hidden]`.
   */
  private unetGroups(): Group[] {
    if (this.groups) return this.groups;
    const rows = [...(this.guided ? this.slots.map((_, slot) => ({ slot, cond: false })) : []), ...this.slots.map((_, slot) => ({ slot, cond: true }))];
    const byLength = new Map<number, { slot: number; cond: boolean }[]>();
    const statesOf = (row: { slot: number; cond: boolean }): FloatTensor =>
      row.cond ? this.slots[row.slot]!.conditioning.cond : this.slots[row.slot]!.conditioning.uncond;
    for (const row of rows) {
      const tokens = statesOf(row).dims[1]!;
      const list = byLength.get(tokens);
      if (list) list.push(row);
      else byLength.set(tokens, [row]);
    }
    const size = this.slots[0]!.latents.length;
    this.groups = [...byLength.values()]
      .flatMap((rows) => balancedSlices(rows, this.settings.maxRowsPerCall))
      .map((groupRows) => {
        const parts = groupRows.map(statesOf);
        const each = parts[0]!.data.length;
        const data = new Float32Array(parts.length * each);
        parts.forEach((p, i) => data.set(p.data, i * each));
        return { rows: groupRows, states: { data, dims: [parts.length, ...parts[0]!.dims.slice(1)] }, sample: new Float32Array(groupRows.length * size) };
      });
    return this.groups;
  }

  private stack(pick: (slot: Slot) => Float32Array): FloatTensor {
    const size = this.slots[0]!.latents.length;
    const data = new Float32Array(this.slots.length * size);
    this.slots.forEach((s, i) => data.set(pick(s), i * size));
    return { data, dims: [this.slots.length, ...this.latentDims.slice(1)] };
  }
}

/** `items` in order, cut into the fewest slices of at most `limit`, as even as possible (5 by 3: 3 + 2). */
export function balancedSlices<T>(items: readonly T[], limit: number | undefined): T[][] {
  if (limit === undefined || items.length <= limit) return [[...items]];
  const count = Math.ceil(items.length / limit);
  const slices: T[][] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.ceil((items.length - start) / (count - i));
    slices.push(items.slice(start, start + size));
    start += size;
  }
  return slices;
}

/** Classifier-free guidance u + g·(c − u) into `out`; a small top-level function so V8 optimises the loop. */
function guide(u: Float32Array, c: Float32Array, g: number, out: Float32Array): Float32Array {
  for (let j = 0; j < out.length; j++) out[j] = u[j]! + g * (c[j]! - u[j]!);
  return out;
}
