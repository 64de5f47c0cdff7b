/**
 * The training tables (betas, alphas_cumprod, sigmas) against the values torch gives when diffusers builds them
 * (scripts/reference/schedulers.py ran torch 1.13 on the CPU: torch.linspace in float32, torch.cumprod). Equality
 * is exact: every value is the same float32.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import reference from './reference/tables.json' with { type: 'json' };
import { alphasCumprod, makeBetas, trainSigmas, type NoiseScheduleConfig } from './schedule.js';
import { fmaFloat32, torchLinspaceF32 } from './torch-linspace.js';

const DEFAULT_SCHEDULE: NoiseScheduleConfig = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', trained_betas: null };

/** Exact float32 comparison; null in the reference is an infinite value (the last sigma under zero terminal SNR). */
function firstDifference(actual: ArrayLike<number>, reference: readonly (number | null)[]): string | undefined {
  if (actual.length !== reference.length) return `length ${actual.length} vs ${reference.length}`;
  const expected = reference.map((v) => v ?? Infinity);
  const f32 = Math.fround;
  let count = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== f32(expected[i]!)) {
      count++;
      if (first < 0) first = i;
    }
  }
  return count === 0 ? undefined : `${count} values differ, first [${first}]: ${actual[first]} vs ${f32(expected[first]!)}`;
}

describe('training tables equal torch (as diffusers builds them)', () => {
  for (const table of reference.tables) {
    it(table.label, () => {
      const config = { ...DEFAULT_SCHEDULE, ...(table.config as Partial<NoiseScheduleConfig>) };
      const betas = makeBetas(config);
      const ac = alphasCumprod(betas);
      assert.equal(firstDifference(betas, table.betas), undefined, 'betas');
      assert.equal(firstDifference(ac, table.alphas_cumprod), undefined, 'alphas_cumprod');
      assert.equal(firstDifference(trainSigmas(ac), table.sigmas), undefined, 'sigmas');
    });
  }

  it("torch's cumprod is a float64 running product rounded per element (what the script checked)", () => {
    for (const table of reference.tables) {
      assert.equal(table.cumprod_check.float64_running_product_equal, 1000, table.label);
      assert.ok(table.cumprod_check.float32_running_product_equal < 200, `${table.label}: a float32 product would differ`);
    }
  });

  it('a float32 running product would have missed the SD sigmas by more than float32 noise', () => {
    const sd = reference.tables.find((t) => t.label.startsWith('scaled_linear (Stable'))!;
    let acc = 1;
    let worst = 0;
    for (let i = 0; i < 1000; i++) {
      acc = Math.fround(acc * Math.fround(1 - Math.fround(sd.betas[i]!)));
      const sigma = Math.sqrt((1 - acc) / acc);
      worst = Math.max(worst, Math.abs(sigma - sd.sigmas[i]!) / sd.sigmas[i]!);
    }
    assert.ok(worst > 1e-6, `relative error ${worst}`);
  });
});

describe('torch.linspace in float32', () => {
  it('keeps the ends and the length', () => {
    assert.deepEqual([...torchLinspaceF32(0, 1, 0)], []);
    assert.deepEqual([...torchLinspaceF32(0.3, 1, 1)], [Math.fround(0.3)]);
    const v = torchLinspaceF32(0.0001, 0.02, 1000);
    assert.equal(v[0], Math.fround(0.0001));
    assert.equal(v[999], Math.fround(0.02));
  });

  it('differs from numpy-linspace-then-float32 in the last bit of some betas (torch is the reference)', () => {
    const torchLike = torchLinspaceF32(0.0001, 0.02, 1000);
    let differ = 0;
    for (let i = 0; i < 1000; i++) if (torchLike[i] !== Math.fround(0.0001 + (i * (0.02 - 0.0001)) / 999)) differ++;
    assert.ok(differ > 100, `${differ}`);
  });

  it('fma rounds once, where rounding the float64 sum to float32 would round twice', () => {
    // (a, b, c, exact fma rounded to float32) found and computed with exact rational arithmetic (Python fractions);
    // Math.fround(a * b + c) gives c for each of them.
    const cases: [number, number, number, number][] = [
      [1.0003427267074585, 5.958422377716488e-8, 1.5, 1.5000001192092896],
      [1.0003447532653809, 2.97920514924499e-8, 0.75, 0.7500000596046448],
      [1.000343680381775, 5.958416693374602e-8, 1.0, 1.0000001192092896],
    ];
    for (const [a, b, c, exact] of cases) {
      assert.equal(Math.fround(a * b + c), c, 'the naive result rounds twice');
      assert.equal(fmaFloat32(a, b, c), exact);
    }
    assert.equal(fmaFloat32(3, 5, 7), 22);
    assert.equal(fmaFloat32(-0.5, 4, 1), -1);
  });
});
