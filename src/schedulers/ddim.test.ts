/** DDIM's eta: the checks around the formula (the values themselves are in reference.test.ts, ddim/eta-*). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import type { FloatTensor } from '../spec/tensor.js';
import { createScheduler } from './index.js';

const DIMS = [1, 4, 2, 2];
const tensor = (f: (i: number) => number): FloatTensor => ({ data: Float32Array.from({ length: 16 }, (_, i) => f(i)), dims: [...DIMS] });
const SD = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, clip_sample: false, set_alpha_to_one: false };

function firstStep(eta: number | undefined, seed = 1): Float32Array {
  const s = createScheduler('ddim', SD);
  s.setTimesteps(10);
  return s.step(
    tensor((i) => Math.cos(i)),
    s.timesteps[0]!,
    tensor((i) => Math.sin(i)),
    new SeededRandom(seed),
    eta === undefined ? undefined : { eta },
  ).prevSample.data;
}

describe('DDIM eta', () => {
  it('eta 0 is the deterministic step (the noise source is not used)', () => {
    assert.deepEqual(firstStep(0, 1), firstStep(undefined, 2));
  });

  it('eta > 0 adds noise from the given source: another seed, another sample', () => {
    const a = firstStep(0.5, 1);
    assert.deepEqual(a, firstStep(0.5, 1));
    assert.notDeepEqual(a, firstStep(0.5, 2));
    assert.notDeepEqual(a, firstStep(0, 1));
  });

  it('eta > 0 without a noise source, or outside [0, 1], is refused', () => {
    const s = createScheduler('ddim', SD);
    s.setTimesteps(10);
    const run = (eta: number, random?: SeededRandom) => () =>
      s.step(
        tensor(() => 0),
        s.timesteps[0]!,
        tensor(() => 0),
        random,
        { eta },
      );
    assert.throws(run(0.5), (e) => e instanceof PmgError && /'ddim' is stochastic: pass a noise source/.test(e.message));
    assert.throws(
      run(1.5, new SeededRandom(1)),
      (e) => e instanceof PmgError && e.code === 'invalid-argument' && /eta must be a number from 0 to 1, got 1\.5/.test(e.message),
    );
    assert.throws(run(-0.1, new SeededRandom(1)), /eta must be a number from 0 to 1/);
  });
});
