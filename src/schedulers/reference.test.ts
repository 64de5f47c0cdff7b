/**
 * Every scheduler against reference numbers from an independent implementation of diffusers' arithmetic
 * (scripts/reference/schedulers.py: torch for the training tables, numpy for the timesteps, diffusers' step
 * formulas in float64; see reference/README.md): timesteps, sigmas, init noise sigma, scaled model inputs, every
 * step's previous sample and predicted x0 (DDIM also with eta > 0), and add_noise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NoiseSource, StepOptions } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { createScheduler } from './index.js';
import ddim from './reference/ddim.json' with { type: 'json' };
import ddpm from './reference/ddpm.json' with { type: 'json' };
import dpm from './reference/dpm-solverpp.json' with { type: 'json' };
import eulerAncestral from './reference/euler-ancestral.json' with { type: 'json' };
import euler from './reference/euler.json' with { type: 'json' };
import lcm from './reference/lcm.json' with { type: 'json' };
import pndm from './reference/pndm.json' with { type: 'json' };

interface ReferenceCase {
  id: string;
  scheduler: string;
  config: Record<string, unknown>;
  num_inference_steps: number;
  timesteps: number[];
  sigmas?: number[];
  init_noise_sigma: number;
  step_options?: StepOptions;
  scaled_model_input?: number[][];
  steps: { prev_sample: number[]; pred_original_sample: number[] }[];
  add_noise: { timestep: number; noisy: number[] };
}

interface ReferenceFile {
  shape: number[];
  cases: ReferenceCase[];
}

const RELATIVE = 1e-5;

/** Inputs rebuilt from the formulas the reference script documents. */
function filled(shape: number[], f: (i: number) => number): FloatTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = f(i);
  return { data, dims: [...shape] };
}

const baseSample = (shape: number[], scale: number): FloatTensor => filled(shape, (i) => Math.fround(Math.fround(Math.sin(0.37 * i + 0.1)) * scale));
const modelOutput = (shape: number[], k: number): FloatTensor => filled(shape, (i) => 0.6 * Math.cos(0.23 * i + 0.5 * k) + 0.1 * Math.sin(0.05 * i * k));
const noiseAt = (shape: number[], k: number): FloatTensor => filled(shape, (i) => Math.sin(0.71 * i + 1.3 * k + 0.2));

/** A NoiseSource that returns the documented deterministic noise of step k. */
function fixedNoise(k: number): NoiseSource {
  return {
    fillGaussian(out: Float32Array, std = 1): Float32Array {
      for (let i = 0; i < out.length; i++) out[i] = Math.fround(Math.sin(0.71 * i + 1.3 * k + 0.2)) * std;
      return out;
    },
  };
}

/** |actual - expected| <= 1e-5 * max(|expected|_inf, 1e-3), element-wise, with the first offender in the message. */
function assertClose(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1e-3, ...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (!(diff <= RELATIVE * scale))
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (|diff| ${diff.toExponential(2)} > ${(RELATIVE * scale).toExponential(2)})`);
  }
}

function checkCase(file: ReferenceFile, c: ReferenceCase): void {
  const warnings: string[] = [];
  const scheduler = createScheduler(c.scheduler, c.config, (m) => warnings.push(m));
  assert.deepEqual(warnings, [], 'reference configs hold only known keys');
  scheduler.setTimesteps(c.num_inference_steps);
  assertClose(scheduler.timesteps, c.timesteps, 'timesteps');
  if (c.sigmas) {
    assert.ok(scheduler.sigmas, 'sigma-based scheduler exposes sigmas');
    assertClose(scheduler.sigmas, c.sigmas, 'sigmas');
  }
  assertClose([scheduler.initNoiseSigma], [c.init_noise_sigma], 'initNoiseSigma');

  let sample = baseSample(file.shape, scheduler.initNoiseSigma);
  c.steps.forEach((expected, k) => {
    const t = scheduler.timesteps[k]!;
    const scaled = scheduler.scaleModelInput(sample, t);
    const scaledRef = c.scaled_model_input?.[k];
    if (scaledRef) assertClose(scaled.data, scaledRef, `step ${k} scaleModelInput`);
    else if (!c.sigmas) assert.equal(scaled, sample, 'scaleModelInput is the identity for alphabar schedulers');
    const out = scheduler.step(modelOutput(file.shape, k), t, sample, fixedNoise(k), c.step_options);
    assert.deepEqual(out.prevSample.dims, file.shape);
    assertClose(out.prevSample.data, expected.prev_sample, `step ${k} (t=${t}) prevSample`);
    if (c.scheduler !== 'pndm') assertClose(out.predOriginalSample.data, expected.pred_original_sample, `step ${k} (t=${t}) predOriginalSample`);
    sample = out.prevSample;
  });

  // add_noise on a fresh scheduler with the same schedule (before any step, as img2img calls it).
  const fresh = createScheduler(c.scheduler, c.config);
  fresh.setTimesteps(c.num_inference_steps);
  const t = fresh.timesteps.length > 1 ? fresh.timesteps[1]! : fresh.timesteps[0]!;
  assertClose([t], [c.add_noise.timestep], 'addNoise timestep');
  const noisy = fresh.addNoise(baseSample(file.shape, 1), noiseAt(file.shape, 99), t);
  assertClose(noisy.data, c.add_noise.noisy, 'addNoise');
}

const files: Record<string, ReferenceFile> = {
  ddim,
  ddpm,
  pndm,
  euler,
  'euler-ancestral': eulerAncestral,
  'dpm-solver++': dpm,
  lcm,
};

for (const [name, file] of Object.entries(files)) {
  describe(`scheduler ${name} matches the reference implementation`, () => {
    it('has reference cases for epsilon and v-prediction', () => {
      const ids = file.cases.map((c) => c.id);
      assert.ok(ids.some((id) => id.includes('epsilon')) && ids.some((id) => id.includes('v_prediction')));
    });
    for (const c of file.cases) it(c.id, () => checkCase(file, c));
  });
}
