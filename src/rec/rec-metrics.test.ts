import assert from 'node:assert/strict';
import { test } from 'node:test';
import reference from './reference/rec-metrics.json' with { type: 'json' };
import { auc, gauc, logLoss, ndcgAtK, recallAtK } from './rec-metrics.js';

const close = (actual: number, expected: number | null, what: string) => {
  assert.ok(expected !== null, `${what}: the reference is defined`);
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: ${actual} vs reference ${expected}`);
};

test('AUC, weighted AUC, log loss, GAUC, Recall@K and NDCG@K equal the independent reference (sklearn arithmetic, textbook NDCG) on cases with ties', () => {
  assert.equal(reference.cases.length, 5);
  for (const c of reference.cases) {
    close(auc(c.scores, c.labels), c.auc, `${c.name}: auc`);
    close(auc(c.scores, c.labels, c.weights), c.weightedAuc, `${c.name}: weighted auc`);
    close(logLoss(c.scores, c.labels), c.logLoss, `${c.name}: log loss`);
    close(gauc(c.scores, c.labels, c.users), c.gauc, `${c.name}: gauc`);
    for (const k of [1, 3, 5] as const) {
      close(recallAtK(c.scores, c.labels, c.users, k), c[`recallAt${k}`], `${c.name}: recall@${k}`);
      close(ndcgAtK(c.scores, c.labels, c.users, k), c[`ndcgAt${k}`], `${c.name}: ndcg@${k}`);
    }
  }
});

test('weighted AUC equals the AUC of the rows repeated as often as their weight', () => {
  const c = reference.cases[3]!;
  const scores: number[] = [];
  const labels: number[] = [];
  c.weights.forEach((w, i) => {
    for (let j = 0; j < w; j++) {
      scores.push(c.scores[i]!);
      labels.push(c.labels[i]!);
    }
  });
  close(auc(c.scores, c.labels, c.weights), auc(scores, labels), 'weighted vs duplicated');
});

test('AUC by hand: a perfect order is 1, reversed 0, a tie across the labels ½; one class is undefined', () => {
  assert.equal(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(auc([0.5, 0.5], [0, 1]), 0.5);
  assert.ok(Number.isNaN(auc([0.1, 0.2], [1, 1])));
  assert.ok(Number.isNaN(auc([], [])));
});

test('ranking ties never favour the model: equal scores put the liked row last', () => {
  // One user, the positive tied with two negatives: pessimistic rank 3.
  assert.equal(recallAtK([0.5, 0.5, 0.5], [1, 0, 0], [0, 0, 0], 2), 0);
  assert.equal(ndcgAtK([0.5, 0.5, 0.5], [1, 0, 0], [0, 0, 0], 3), 1 / Math.log2(4));
  // Users without a liked row do not count.
  assert.equal(recallAtK([0.9, 0.1, 0.3], [1, 0, 0], [0, 0, 1], 1), 1);
});
