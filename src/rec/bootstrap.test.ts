import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { bootstrapSamples, pairedDifference, percentile } from './bootstrap.js';
import { evaluationFrame, frameMetrics, scoreFrame } from './rec-evaluation.js';
import { auc, gauc, logLoss, ndcgAtK, recallAtK } from './rec-metrics.js';
import { syntheticRecDataset } from './synthetic-rec-dataset.js';

const { dataset } = syntheticRecDataset({ users: 60, items: 50, ratingsPerUser: 20, negatives: 10, seed: 2 });
const frame = evaluationFrame(dataset, 5);
const labels = dataset.rows.map((r) => (r.split === 'rank' ? 0 : r.label));

/** Scores that know the label with strength `skill` plus seeded noise. */
function scores(skill: number, seed: number): Float64Array {
  const random = new SeededRandom(seed);
  return Float64Array.from(labels, (y) => 1 / (1 + Math.exp(-(skill * (y - 0.5) + random.nextGaussian()))));
}

test('identical scores give a difference of exactly 0 and the interval [0, 0]', () => {
  const s = scores(1, 5);
  const a = bootstrapSamples(frame, [scoreFrame(frame, s)], { resamples: 200, seed: 9 });
  const b = bootstrapSamples(frame, [scoreFrame(frame, Float64Array.from(s))], { resamples: 200, seed: 9 });
  for (const [metric, d] of Object.entries(pairedDifference(a, b))) {
    assert.deepEqual([d.observed, d.low, d.high, d.resamples], [0, 0, 0, 200], metric);
  }
});

test('a clearly better model gets intervals above 0 (AUC, GAUC, Recall, NDCG) and below 0 for log loss', () => {
  const good = bootstrapSamples(frame, [scoreFrame(frame, scores(3, 5))], { resamples: 300, seed: 9 });
  const weak = bootstrapSamples(frame, [scoreFrame(frame, scores(0.2, 6))], { resamples: 300, seed: 9 });
  const d = pairedDifference(good, weak);
  for (const m of ['auc', 'gauc', 'recall', 'ndcg'] as const)
    assert.ok(d[m].low > 0 && d[m].observed > d[m].low && d[m].high > d[m].observed, `${m}: ${JSON.stringify(d[m])}`);
  assert.ok(d.logLoss.high < 0, JSON.stringify(d.logLoss));
});

test('the observed metrics equal the plain metric functions on the test rows and ranking lists', () => {
  const s = scores(1, 7);
  const observed = frameMetrics(frame, scoreFrame(frame, s));
  const testScores = Array.from(frame.testRows, (r) => s[r]!);
  const listScores = Array.from(frame.listRows, (r) => s[r]!);
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
  near(observed.auc, auc(testScores, frame.testLabel), 'auc');
  near(observed.logLoss, logLoss(testScores, frame.testLabel), 'log loss');
  near(observed.gauc, gauc(testScores, frame.testLabel, frame.testUser), 'gauc');
  near(observed.recall, recallAtK(listScores, frame.listLabel, frame.listUser, 5), 'recall');
  near(observed.ndcg, ndcgAtK(listScores, frame.listLabel, frame.listUser, 5), 'ndcg');
});

test('a resample scored by user multiplicities equals the metrics of its rows copied out explicitly', () => {
  const s = scores(1, 8);
  const multiplicity = Float64Array.from(frame.users, (_, u) => (u * 7) % 4); // 0..3 copies, some users left out
  const weights = Float64Array.from(frame.testUser, (u) => multiplicity[u]!);
  const weighted = frameMetrics(frame, scoreFrame(frame, s), multiplicity, weights);
  // Copy the rows: user u's rows appear multiplicity[u] times, each copy as a distinct user.
  const test = { s: [] as number[], y: [] as number[], u: [] as number[] };
  const list = { s: [] as number[], y: [] as number[], u: [] as number[] };
  let copy = 0;
  frame.users.forEach((_, u) => {
    for (let m = 0; m < multiplicity[u]!; m++, copy++) {
      frame.testRows.forEach((r, j) => frame.testUser[j] === u && (test.s.push(s[r]!), test.y.push(frame.testLabel[j]!), test.u.push(copy)));
      frame.listRows.forEach((r, j) => frame.listUser[j] === u && (list.s.push(s[r]!), list.y.push(frame.listLabel[j]!), list.u.push(copy)));
    }
  });
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
  near(weighted.auc, auc(test.s, test.y), 'auc');
  near(weighted.logLoss, logLoss(test.s, test.y), 'log loss');
  near(weighted.gauc, gauc(test.s, test.y, test.u), 'gauc');
  near(weighted.recall, recallAtK(list.s, list.y, list.u, 5), 'recall');
  near(weighted.ndcg, ndcgAtK(list.s, list.y, list.u, 5), 'ndcg');
});

test('percentiles interpolate linearly between order statistics like numpy.percentile', () => {
  // numpy.percentile([1, 2, 3, 4, 10], [2.5, 97.5]) = [1.1, 9.4]
  assert.ok(Math.abs(percentile([1, 2, 3, 4, 10], 2.5) - 1.1) < 1e-12);
  assert.ok(Math.abs(percentile([1, 2, 3, 4, 10], 97.5) - 9.4) < 1e-12);
  assert.equal(percentile([5], 97.5), 5);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('the resamples depend only on the seed: equal seeds give equal samples', () => {
  const scored = [scoreFrame(frame, scores(1, 5))];
  const a = bootstrapSamples(frame, scored, { resamples: 50, seed: 1 });
  const b = bootstrapSamples(frame, scored, { resamples: 50, seed: 1 });
  const c = bootstrapSamples(frame, scored, { resamples: 50, seed: 2 });
  assert.deepEqual(a.resamples.auc, b.resamples.auc);
  assert.notDeepEqual(a.resamples.auc, c.resamples.auc);
  assert.throws(() => bootstrapSamples(frame, scored, { resamples: 0, seed: 1 }), /resamples must be a positive integer/);
});

test('replicates: the observed value is their mean, and their spread widens the interval', () => {
  const replicates = [scoreFrame(frame, scores(1, 5)), scoreFrame(frame, scores(1, 15)), scoreFrame(frame, scores(1, 25))];
  const one = bootstrapSamples(frame, [replicates[0]!], { resamples: 300, seed: 9 });
  const three = bootstrapSamples(frame, replicates, { resamples: 300, seed: 9, replicateSeed: 4 });
  const mean = replicates.reduce((a, r) => a + frameMetrics(frame, r).auc, 0) / 3;
  assert.ok(Math.abs(three.observed.auc - mean) < 1e-15);
  // Against a baseline that is the same three replicates drawn from another stream: centred on 0, but not [0, 0].
  const other = bootstrapSamples(frame, replicates, { resamples: 300, seed: 9, replicateSeed: 5 });
  const d = pairedDifference(three, other).auc;
  assert.equal(d.observed, 0);
  assert.ok(d.low < 0 && d.high > 0, JSON.stringify(d));
  // The same replicates drawn from the same stream are identical: [0, 0].
  const same = pairedDifference(three, bootstrapSamples(frame, replicates, { resamples: 300, seed: 9, replicateSeed: 4 })).auc;
  assert.deepEqual([same.low, same.high], [0, 0]);
  assert.ok(one.resamples.auc.length === 300);
});
