import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankByZ as rankByZFromPersonalize } from '../personalize/personalize.js';
import { earlySearchPlan, keepBest, rankByZ } from './ranking.js';

const c = (p: number, dp: number, dt: number) => ({ weights: { preference: p, target: 1 }, dp, dt });

test('rankByZ: best z first, ties to the lower preference weight', () => {
  assert.deepEqual(rankByZ([c(2, 30, 20), c(1, 30, 20), c(3, 40, 25)], 2 / 3), [2, 1, 0]);
  assert.equal(rankByZFromPersonalize, rankByZ, 'the old import path is the same function');
});

test('keepBest keeps the best by z, in index order', () => {
  const candidates = [c(1, 20, 20), c(2, 40, 25), c(3, 10, 10), c(4, 35, 30)];
  assert.deepEqual(rankByZ(candidates, 0.5), [3, 1, 0, 2]);
  assert.deepEqual(keepBest(candidates, 0.5, 2), [1, 3]);
  assert.deepEqual(keepBest(candidates, 0.5, 1), [3]);
});

test('earlySearchPlan: early only when it drops candidates and there is more than one step; the step is rounded into 1..total-1', () => {
  const base = { search: 'early' as const, earlyFraction: 0.3, earlyKeep: 2, candidates: 5, totalSteps: 10 };
  assert.deepEqual(earlySearchPlan(base), { earlySteps: 3, keep: 2 });
  assert.equal(earlySearchPlan({ ...base, search: 'exhaustive' }), undefined);
  assert.equal(earlySearchPlan({ ...base, earlyKeep: 5 }), undefined, 'keeping all is exhaustive');
  assert.equal(earlySearchPlan({ ...base, earlyKeep: 9 }), undefined);
  assert.equal(earlySearchPlan({ ...base, totalSteps: 1 }), undefined);
  assert.deepEqual(earlySearchPlan({ ...base, earlyFraction: 0.01 }), { earlySteps: 1, keep: 2 });
  assert.deepEqual(earlySearchPlan({ ...base, earlyFraction: 0.99 }), { earlySteps: 9, keep: 2 });
});
