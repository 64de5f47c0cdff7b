import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GB } from '../core/memory-budget.js';
import type { UnetMemoryProfile } from '../spec/diffusion-models.js';
import { CPU_BATCHING_LIMIT_BYTES, describeSlicePlan, estimateUnetRowBytes, planUnetSlices } from './unet-slice-plan.js';

const sd15: UnetMemoryProfile = {
  device: 'cpu',
  weightBytes: 3.44 * GB,
  activationBytes: 4,
  channels: 320,
  attentionHeads: [8, 8, 8, 0],
  source: 'unet/config.json',
};
const tiny: UnetMemoryProfile = { ...sd15, weightBytes: 50_000, channels: 8, attentionHeads: [0], source: 'unet/config.json' };
const budget = (bytes: number, residentBytes: number, auto = false) => ({ bytes, residentBytes, auto });

test('the estimate follows the measured proxy: about 1.1 GB per row at 64x64 latents, 0.08 GB at 32x32', () => {
  // Measured (docs/performance.md): 1.085 GB at 64x64, 0.356 GB at 48x48, 0.076 GB at 32x32; the estimate keeps a margin.
  const at = (side: number): number => estimateUnetRowBytes(sd15, side, side) / GB;
  assert.ok(at(64) >= 1.085 && at(64) < 1.085 * 1.25, `64x64: ${at(64)}`);
  assert.ok(at(48) >= 0.356 && at(48) < 0.356 * 1.25, `48x48: ${at(48)}`);
  assert.ok(at(32) >= 0.076 && at(32) < 0.076 * 1.4, `32x32: ${at(32)}`);
  // SD 2.x has 5 heads at full resolution: smaller maps; SDXL-like (no attention at full resolution): much smaller.
  assert.ok(estimateUnetRowBytes({ ...sd15, attentionHeads: [5, 10, 20, 0] }, 64, 64) < estimateUnetRowBytes(sd15, 64, 64));
  assert.ok(estimateUnetRowBytes({ ...sd15, attentionHeads: [0, 10, 20] }, 64, 64) < 0.2 * GB);
  // fp16 activations take half.
  assert.equal(estimateUnetRowBytes({ ...sd15, activationBytes: 2 }, 64, 64), Math.ceil(estimateUnetRowBytes(sd15, 64, 64) / 2));
});

test('CPU, SD-sized UNet: one row per call, even with room for all (batching buys no speed there)', () => {
  const plan = planUnetSlices({ rows: 4, latentHeight: 64, latentWidth: 64, profile: sd15, budget: budget(20 * GB, 4 * GB, true) });
  assert.equal(plan.rowsPerCall, 1);
  assert.equal(plan.calls, 4);
  assert.equal(plan.reason, 'cpu-one-row');
  assert.match(
    describeSlicePlan(plan),
    /^UNet: 4 rows per step in 4 calls of 1 \(budget 20 GB \(auto\), 4\.0 GB in use, est\. 1\.\d GB per row at 64x64 latents; on CPU batching buys no speed/,
  );
});

test('CPU, small UNet: all rows in one call when they fit, slices when they do not', () => {
  assert.ok(estimateUnetRowBytes(tiny, 64, 64) < CPU_BATCHING_LIMIT_BYTES);
  const fits = planUnetSlices({ rows: 4, latentHeight: 64, latentWidth: 64, profile: tiny, budget: budget(8 * GB, GB) });
  assert.deepEqual([fits.rowsPerCall, fits.calls, fits.reason], [4, 1, 'fits']);
  const row = estimateUnetRowBytes(tiny, 64, 64);
  const tight = planUnetSlices({ rows: 5, latentHeight: 64, latentWidth: 64, profile: tiny, budget: budget(GB + 3.5 * row, GB) });
  assert.deepEqual([tight.rowsPerCall, tight.calls, tight.reason], [3, 2, 'budget'], 'room for 3: 5 rows as 3 + 2');
  assert.match(describeSlicePlan(tight), /in 2 calls of up to 3 /);
});

test('a budget below what the models hold: one row per call, flagged', () => {
  const plan = planUnetSlices({ rows: 2, latentHeight: 64, latentWidth: 64, profile: sd15, budget: budget(4 * GB, 4.5 * GB) });
  assert.deepEqual([plan.rowsPerCall, plan.reason], [1, 'over-budget']);
  assert.match(describeSlicePlan(plan), /even one row exceeds the budget/);
});

test('CUDA: the largest slice in budget (weights in device memory); auto means no limit', () => {
  const cuda = { ...sd15, device: 'cuda' as const, activationBytes: 2 };
  const row = estimateUnetRowBytes(cuda, 64, 64);
  const given = planUnetSlices({ rows: 4, latentHeight: 64, latentWidth: 64, profile: cuda, budget: budget(3.44 * GB + 2.5 * row, 30 * GB) });
  assert.deepEqual([given.rowsPerCall, given.calls, given.reason], [2, 2, 'budget']);
  const auto = planUnetSlices({ rows: 4, latentHeight: 64, latentWidth: 64, profile: cuda, budget: budget(20 * GB, GB, true) });
  assert.deepEqual([auto.rowsPerCall, auto.reason], [4, 'cuda-unknown-memory']);
});

test('without a profile or a budget there is no plan: all rows in one call', () => {
  const plan = planUnetSlices({ rows: 4, latentHeight: 64, latentWidth: 64, profile: sd15 });
  assert.deepEqual([plan.rowsPerCall, plan.calls, plan.reason], [4, 1, 'no-plan']);
  assert.match(describeSlicePlan(plan), /^UNet: 4 rows per step in 1 call \(no memory plan/);
  assert.throws(() => planUnetSlices({ rows: 0, latentHeight: 8, latentWidth: 8 }), /at least one UNet row/);
});
