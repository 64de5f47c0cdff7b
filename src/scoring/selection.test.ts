import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import reference from './reference/selection.json' with { type: 'json' };
import { DEFAULT_ALPHA, LOGIT_EPSILON, selectBest, zScore } from './selection.js';

test('z and the winner match the numpy reference (scripts/reference/selection.py)', () => {
  assert.equal(reference.epsilon, LOGIT_EPSILON);
  for (const c of reference.cases) {
    const candidates = c.candidates.map((x) => ({ weights: { preference: x.wp, target: x.wt }, dp: x.dp, dt: x.dt }));
    const { chosen, z } = selectBest(candidates, c.alpha);
    z.forEach((value, i) => assert.ok(Math.abs(value - c.z[i]!) < 1e-12, `case alpha=${c.alpha} z[${i}] ${value} vs ${c.z[i]}`));
    assert.equal(chosen, c.chosen, `case alpha=${c.alpha}`);
  }
});

test('non-positive logits are clamped, never NaN', () => {
  assert.equal(zScore(-5, 20, 0.5), 0.5 * Math.log(LOGIT_EPSILON) + 0.5 * Math.log(20));
  assert.ok(Number.isFinite(zScore(Number.NaN, 0, DEFAULT_ALPHA)));
});

test('ties go to the lower preference weight', () => {
  const same = { dp: 20, dt: 20 };
  const { chosen } = selectBest(
    [
      { weights: { preference: 3, target: 1 }, ...same },
      { weights: { preference: 2, target: 1 }, ...same },
    ],
    0.5,
  );
  assert.equal(chosen, 1);
});

test('alpha outside [0, 1] and an empty list are clear errors', () => {
  assert.throws(
    () => selectBest([{ weights: { preference: 1, target: 1 }, dp: 1, dt: 1 }], 1.5),
    (e: unknown) => e instanceof PmgError && /alpha must be/.test(e.message),
  );
  assert.throws(() => selectBest([], 0.5), PmgError);
});
