import assert from 'node:assert/strict';
import { test } from 'node:test';
import reference from './reference/adamw-schedule.json' with { type: 'json' };
import { adamwStep, ADAMW_DEFAULTS, newAdamWState } from './adamw.js';
import { clipGradNorm } from './clip-grad.js';
import { lrFactor, type LrScheduleKind } from './lr-schedule.js';

// torch 1.13's AdamW + clip_grad_norm_ + LambdaLR (transformers' warm-up lambdas), scripts/reference/adamw_schedule.py.
for (const [index, c] of reference.cases.entries()) {
  test(`AdamW, ${c.kind} schedule and clipping follow torch step by step (case ${index})`, () => {
    const params = { a: Float32Array.from(c.init.a), b: Float32Array.from(c.init.b) };
    const state = newAdamWState(params);
    const schedule = { kind: c.kind as LrScheduleKind, warmup: c.warmup, total: c.total };
    for (let step = 0; step < c.total; step++) {
      const lr = c.lr * lrFactor(schedule, step);
      assert.ok(Math.abs(lr - c.lrs[step]!) <= 1e-12 * c.lr, `step ${step}: lr ${lr} vs torch ${c.lrs[step]}`);
      const grads = { a: Float32Array.from(c.grads[step]!.a), b: Float32Array.from(c.grads[step]!.b) };
      if (c.maxNorm > 0) {
        const norm = clipGradNorm(grads, c.maxNorm);
        assert.ok(Math.abs(norm - c.norms[step]!) <= 1e-5 * c.norms[step]!, `step ${step}: norm ${norm} vs torch ${c.norms[step]}`);
      }
      adamwStep(params, grads, state, lr, { ...ADAMW_DEFAULTS, weightDecay: c.weightDecay });
      for (const name of ['a', 'b'] as const) {
        const want = c.after[step]![name];
        params[name].forEach((v, i) =>
          assert.ok(Math.abs(v - want[i]!) <= 2e-6 * Math.max(1, Math.abs(want[i]!)), `step ${step} ${name}[${i}]: ${v} vs torch ${want[i]}`),
        );
      }
    }
    assert.equal(state.step, c.total);
  });
}

test('clipping leaves small gradients alone and returns their norm', () => {
  const grads = { x: Float32Array.from([3, 4]) };
  assert.equal(clipGradNorm(grads, 10), 5);
  assert.deepEqual([...grads.x], [3, 4]);
  clipGradNorm(grads, 1);
  assert.ok(Math.abs(Math.hypot(grads.x[0]!, grads.x[1]!) - 1) < 1e-5);
});

test('warm-up then linear decay reaches zero at the last step', () => {
  const s = { kind: 'linear' as const, warmup: 2, total: 6 };
  assert.deepEqual(
    [0, 1, 2, 3, 6].map((k) => lrFactor(s, k)),
    [0, 0.5, 1, 0.75, 0],
  );
  assert.equal(lrFactor({ kind: 'constant', warmup: 0, total: 5 }, 3), 1);
});
