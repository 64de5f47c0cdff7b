/**
 * A full sampling loop per scheduler on a toy "model" that is exact: the data are Gaussian,
 * x0 ~ N(mu, s^2) per element, so E[eps | x_t] is known in closed form. Every scheduler must carry pure
 * noise to samples around mu with spread about s (LCM, whose last step returns a posterior mean, less).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from '../core/random.js';
import type { PredictionType, SchedulerName } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { createScheduler, schedulerNames } from './index.js';
import { alphasCumprod, interpOnIndexGrid, makeBetas, trainSigmas } from './schedule.js';

const DIMS = [2, 4, 16, 16];
const SIZE = DIMS.reduce((a, b) => a * b, 1);
const S = 0.5;
const MU = Float32Array.from({ length: SIZE }, (_, i) => 0.8 * Math.sin(0.013 * i * i + 0.3 * i));

const SD = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, clip_sample: false, set_alpha_to_one: false };
const SIGMAS = trainSigmas(
  alphasCumprod(makeBetas({ num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', trained_betas: null })),
);

/** The exact model: eps or v for Gaussian data at (possibly fractional) timestep t, given the VP-scaled input. */
function exactModel(x: FloatTensor, t: number, prediction: PredictionType): FloatTensor {
  const sigma = interpOnIndexGrid(t, SIGMAS);
  const a = 1 / (1 + sigma * sigma);
  const sa = Math.sqrt(a);
  const sb = Math.sqrt(1 - a);
  const variance = a * S * S + 1 - a;
  const out = new Float32Array(SIZE);
  for (let i = 0; i < SIZE; i++) {
    const eps = (sb * (x.data[i]! - sa * MU[i]!)) / variance;
    if (prediction === 'epsilon') out[i] = eps;
    else {
      const x0 = (x.data[i]! - sb * eps) / sa;
      out[i] = sa * eps - sb * x0;
    }
  }
  return { data: out, dims: [...DIMS] };
}

function sample(name: SchedulerName, prediction: PredictionType, steps: number, seed: number): { mean: number; std: number; x0Error: number } {
  const scheduler = createScheduler(name, { ...SD, prediction_type: prediction });
  scheduler.setTimesteps(steps);
  const random = new SeededRandom(seed);
  let latents: FloatTensor = { data: random.fillGaussian(new Float32Array(SIZE), scheduler.initNoiseSigma), dims: [...DIMS] };
  let lastX0: FloatTensor | undefined;
  for (const t of scheduler.timesteps) {
    const input = scheduler.scaleModelInput(latents, t);
    const out = scheduler.step(exactModel(input, t, prediction), t, latents, random);
    latents = out.prevSample;
    lastX0 = out.predOriginalSample;
  }
  let sum = 0;
  let sumSq = 0;
  let x0Error = 0;
  for (let i = 0; i < SIZE; i++) {
    const d = latents.data[i]! - MU[i]!;
    sum += d;
    sumSq += d * d;
    x0Error = Math.max(x0Error, Math.abs(lastX0!.data[i]! - MU[i]!));
  }
  const mean = sum / SIZE;
  return { mean, std: Math.sqrt(sumSq / SIZE - mean * mean), x0Error };
}

const STEPS: Record<SchedulerName, number> = { ddim: 25, ddpm: 50, pndm: 25, euler: 25, 'euler-ancestral': 30, 'dpm-solver++': 20, lcm: 6 };

describe('sampling loop on an exact Gaussian model converges to the data', () => {
  for (const name of schedulerNames) {
    for (const prediction of ['epsilon', 'v_prediction'] as const) {
      it(`${name} (${prediction}, ${STEPS[name]} steps)`, () => {
        const { mean, std, x0Error } = sample(name, prediction, STEPS[name], 7);
        assert.ok(Math.abs(mean) < 0.03, `mean offset from mu ${mean}`);
        if (name === 'lcm') assert.ok(std > 0.3 * S && std < S, `spread ${std}`);
        else assert.ok(std > 0.85 * S && std < 1.15 * S, `spread ${std}, expected about ${S}`);
        assert.ok(x0Error < 5 * S, `last predicted x0 is ${x0Error} from mu`);
      });
    }
  }

  it('never reuses or changes an array it returned (callers keep prevSample and predOriginalSample across steps)', () => {
    for (const name of schedulerNames) {
      for (const config of [
        { ...SD, skip_prk_steps: true },
        { ...SD, solver_order: 3 },
      ]) {
        const scheduler = createScheduler(name, config);
        scheduler.setTimesteps(8);
        const random = new SeededRandom(5);
        let latents: FloatTensor = { data: random.fillGaussian(new Float32Array(SIZE), scheduler.initNoiseSigma), dims: [...DIMS] };
        const kept: { array: Float32Array; copy: Float32Array }[] = [];
        for (const t of scheduler.timesteps) {
          const out = scheduler.step(exactModel(scheduler.scaleModelInput(latents, t), t, 'epsilon'), t, latents, random);
          for (const array of [out.prevSample.data, out.predOriginalSample.data]) kept.push({ array, copy: Float32Array.from(array) });
          latents = out.prevSample;
        }
        assert.equal(new Set(kept.map((k) => k.array)).size, kept.length, `${name}: every returned array is a new one`);
        kept.forEach((k, i) => assert.deepEqual(k.array, k.copy, `${name}: returned array ${i} changed by a later step`));
      }
    }
  });

  it('is reproducible for a seed and differs between seeds for stochastic schedulers', () => {
    const a = sample('euler-ancestral', 'epsilon', 10, 3);
    const b = sample('euler-ancestral', 'epsilon', 10, 3);
    const c = sample('euler-ancestral', 'epsilon', 10, 4);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});
