import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Unet } from '../spec/diffusion-models.js';
import type { Scheduler } from '../spec/scheduler.js';
import type { FloatTensor } from '../spec/tensor.js';
import { balancedSlices, DenoiseState } from './denoise-state.js';

/** UNet whose output for batch row b is the first value of that row's encoder states. */
function echoUnet(calls: number[]): Unet {
  return {
    inChannels: 4,
    async predict(sample, _t, states) {
      calls.push(sample.dims[0]!);
      const rows = sample.dims[0]!;
      const size = sample.data.length / rows;
      const per = states.data.length / rows;
      const data = new Float32Array(sample.data.length);
      for (let b = 0; b < rows; b++) data.fill(states.data[b * per]!, b * size, (b + 1) * size);
      return { data, dims: sample.dims };
    },
  };
}

/** Scheduler that records the guided model output and returns x - output. */
function recordingScheduler(outputs: number[]): Scheduler {
  return {
    name: 'ddim',
    config: {},
    order: 1,
    initNoiseSigma: 1,
    timesteps: [900, 500, 100],
    setTimesteps: () => undefined,
    scaleModelInput: (sample) => sample,
    step(modelOutput: FloatTensor, _t: number, sample: FloatTensor) {
      outputs.push(modelOutput.data[0]!);
      const prev = sample.data.map((v, i) => v - modelOutput.data[i]!);
      return { prevSample: { data: prev, dims: sample.dims }, predOriginalSample: { data: modelOutput.data, dims: sample.dims } };
    },
    addNoise: (x) => x,
  };
}

const states = (value: number): FloatTensor => ({ data: new Float32Array(3 * 2).fill(value), dims: [1, 3, 2] });

test('guidance: one UNet call of batch 2k per step, unconditional halves first, u + g (c - u)', async () => {
  const calls: number[] = [];
  const outputs: number[] = [];
  const state = new DenoiseState(
    { unet: echoUnet(calls), createScheduler: () => recordingScheduler(outputs), steps: 3, guidanceScale: 5, width: 16, height: 16 },
    [
      { cond: states(1), uncond: states(0), seed: 1 },
      { cond: states(3), uncond: states(2), seed: 2 },
    ],
  );
  await state.run();
  assert.deepEqual(calls, [4, 4, 4]);
  // candidate 0: 0 + 5 (1 - 0) = 5; candidate 1: 2 + 5 (3 - 2) = 7
  assert.deepEqual(outputs, [5, 7, 5, 7, 5, 7]);
});

test('guidance <= 1 runs the conditional half only', async () => {
  const calls: number[] = [];
  const outputs: number[] = [];
  const state = new DenoiseState(
    { unet: echoUnet(calls), createScheduler: () => recordingScheduler(outputs), steps: 3, guidanceScale: 1, width: 16, height: 16 },
    [{ cond: states(4), uncond: states(0), seed: 1 }],
  );
  await state.run({ until: 1 });
  assert.deepEqual(calls, [1]);
  assert.deepEqual(outputs, [4]);
  assert.equal(state.step, 1);
  assert.equal(state.done, false);
});

test('the same seed gives the same initial latents, scaled by initNoiseSigma', () => {
  const make = (seed: number) =>
    new DenoiseState({ unet: echoUnet([]), createScheduler: () => recordingScheduler([]), steps: 3, guidanceScale: 5, width: 16, height: 16 }, [
      { cond: states(1), uncond: states(0), seed },
    ]).latents();
  assert.deepEqual(make(3).data, make(3).data);
  assert.notDeepEqual(make(3).data, make(4).data);
  assert.deepEqual(make(3).dims, [1, 4, 2, 2]);
});

const statesOfLength = (value: number, tokens: number): FloatTensor => ({ data: new Float32Array(tokens * 2).fill(value), dims: [1, tokens, 2] });

test('candidates of different token lengths: one UNet call per length per step, each as if it ran alone', async () => {
  const run = async (candidates: { cond: FloatTensor; uncond: FloatTensor; seed: number }[]) => {
    const calls: number[] = [];
    const lengths: number[] = [];
    const unet = echoUnet(calls);
    const state = new DenoiseState(
      {
        unet: { inChannels: 4, predict: (sample, t, s) => (lengths.push(s.dims[1]!), unet.predict(sample, t, s)) },
        createScheduler: () => recordingScheduler([]),
        steps: 3,
        guidanceScale: 5,
        width: 16,
        height: 16,
      },
      candidates,
    );
    await state.run();
    return { calls, lengths, latents: state.latents(), callLengths: state.unetCallLengths };
  };
  const a = { cond: statesOfLength(1, 3), uncond: statesOfLength(0, 3), seed: 1 };
  const b = { cond: statesOfLength(3, 5), uncond: statesOfLength(2, 5), seed: 2 };
  const c = { cond: statesOfLength(4, 3), uncond: statesOfLength(1, 3), seed: 3 };
  const batch = await run([a, b, c]);
  // Per step: tokens 3 (a, c: 2 uncond + 2 cond rows), then tokens 5 (b: 1 + 1).
  assert.deepEqual(batch.calls, [4, 2, 4, 2, 4, 2]);
  assert.deepEqual(batch.lengths, [3, 5, 3, 5, 3, 5]);
  assert.deepEqual(batch.callLengths, [3, 5]);
  const size = 4 * 2 * 2;
  for (const [i, alone] of [a, b, c].entries()) {
    const single = await run([alone]);
    assert.deepEqual(single.calls, [2, 2, 2]);
    assert.deepEqual(batch.latents.data.subarray(i * size, (i + 1) * size), single.latents.data, `candidate ${i}`);
  }
});

test('a candidate whose halves differ in length still runs; equal lengths stay one call per step', async () => {
  const calls: number[] = [];
  const outputs: number[] = [];
  const state = new DenoiseState(
    { unet: echoUnet(calls), createScheduler: () => recordingScheduler(outputs), steps: 3, guidanceScale: 5, width: 16, height: 16 },
    [{ cond: statesOfLength(1, 4), uncond: statesOfLength(0, 3), seed: 1 }],
  );
  await state.run({ until: 1 });
  assert.deepEqual(calls, [1, 1]);
  assert.deepEqual(outputs, [5]);
});

test('given latents are multiplied by initNoiseSigma, as diffusers prepare_latents does', () => {
  const given = { data: Float32Array.from({ length: 16 }, (_, i) => i - 8), dims: [1, 4, 2, 2] };
  const sigma14 = (): Scheduler => ({ ...recordingScheduler([]), initNoiseSigma: 14.5 });
  const state = new DenoiseState({ unet: echoUnet([]), createScheduler: sigma14, steps: 3, guidanceScale: 5, width: 16, height: 16 }, [
    { cond: states(1), uncond: states(0), seed: 1, latents: given },
  ]);
  assert.deepEqual(
    [...state.latents().data],
    [...given.data].map((v) => Math.fround(v * 14.5)),
  );
  assert.deepEqual([...given.data.slice(0, 2)], [-8, -7], 'the caller keeps its latents');
});

test('progress counts the requested steps: an extra warm-up call (PNDM) is step 0 of them', async () => {
  // A PNDM-like scheduler: 3 requested steps, 4 UNet calls (the first timestep twice).
  const pndmLike = (): Scheduler => ({ ...recordingScheduler([]), timesteps: [901, 901, 601, 301] });
  const state = new DenoiseState({ unet: echoUnet([]), createScheduler: pndmLike, steps: 3, guidanceScale: 5, width: 16, height: 16 }, [
    { cond: states(1), uncond: states(0), seed: 1 },
  ]);
  const seen: string[] = [];
  await state.run({ onStep: (e) => void seen.push(`${e.step}/${e.stepCount} ${e.stepsDone}/${e.requestedSteps}`) });
  assert.deepEqual(seen, ['0/4 0/3', '1/4 1/3', '2/4 2/3', '3/4 3/3']);
});

test('eta reaches the scheduler as a step option (0: none)', async () => {
  const options: unknown[] = [];
  const spy = (): Scheduler => ({
    ...recordingScheduler([]),
    step(modelOutput: FloatTensor, _t: number, sample: FloatTensor, _random?: unknown, stepOptions?: unknown) {
      options.push(stepOptions);
      return { prevSample: sample, predOriginalSample: modelOutput };
    },
  });
  for (const eta of [0, 0.3]) {
    await new DenoiseState({ unet: echoUnet([]), createScheduler: spy, steps: 3, guidanceScale: 5, width: 16, height: 16, eta }, [
      { cond: states(1), uncond: states(0), seed: 1 },
    ]).run({ until: 1 });
  }
  assert.deepEqual(options, [{}, { eta: 0.3 }]);
});

test('maxRowsPerCall: balanced slices of the rows, the same latents as one call', async () => {
  const run = async (maxRowsPerCall?: number) => {
    const calls: number[] = [];
    const state = new DenoiseState(
      {
        unet: echoUnet(calls),
        createScheduler: () => recordingScheduler([]),
        steps: 3,
        guidanceScale: 5,
        width: 16,
        height: 16,
        ...(maxRowsPerCall ? { maxRowsPerCall } : {}),
      },
      [1, 2, 3].map((v) => ({ cond: states(v), uncond: states(-v), seed: v })),
    );
    await state.run();
    return { calls, rows: state.unetCallRows, latents: state.latents(), plan: state.slicePlan };
  };
  const whole = await run();
  assert.deepEqual(whole.calls, [6, 6, 6]);
  assert.deepEqual([whole.plan.rows, whole.plan.rowsPerCall, whole.plan.reason], [6, 6, 'no-plan']);
  const one = await run(1);
  assert.deepEqual(one.calls, new Array(18).fill(1));
  const four = await run(4);
  assert.deepEqual(four.rows, [3, 3], '6 rows with room for 4: two calls of 3');
  assert.deepEqual([four.plan.rowsPerCall, four.plan.calls], [4, 2]);
  for (const sliced of [one, four]) assert.deepEqual(sliced.latents.data, whole.latents.data);
  assert.throws(
    () =>
      new DenoiseState(
        { unet: echoUnet([]), createScheduler: () => recordingScheduler([]), steps: 3, guidanceScale: 5, width: 16, height: 16, maxRowsPerCall: 0 },
        [{ cond: states(1), uncond: states(0), seed: 1 }],
      ),
    /maxRowsPerCall must be/,
  );
});

test('balancedSlices cuts into the fewest slices of at most the limit, as even as possible', () => {
  assert.deepEqual(balancedSlices([1, 2, 3, 4, 5], 3), [
    [1, 2, 3],
    [4, 5],
  ]);
  assert.deepEqual(balancedSlices([1, 2, 3, 4, 5, 6, 7], 3), [
    [1, 2, 3],
    [4, 5],
    [6, 7],
  ]);
  assert.deepEqual(balancedSlices([1, 2], undefined), [[1, 2]]);
  assert.deepEqual(balancedSlices([1, 2], 1), [[1], [2]]);
});
