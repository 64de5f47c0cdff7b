import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PmgError } from '../errors/pmg-error.js';
import { encodeRecFeatures } from './feature-encoding.js';
import { trainFactorizationMachine, type FmTrainingOptions } from './fm-training.js';
import { auc } from './rec-metrics.js';
import { syntheticRecDataset } from './synthetic-rec-dataset.js';

const { dataset } = syntheticRecDataset({ users: 80, items: 60, ratingsPerUser: 30, negatives: 5, seed: 1 });
const design = encodeRecFeatures(dataset);
const labels = Uint8Array.from(dataset.rows, (r) => r.label);
const split = (name: string) => Int32Array.from(dataset.rows.flatMap((r, i) => (r.split === name ? [i] : [])));
const train = split('train');
const val = split('val');
const test_ = split('test');
const options: FmTrainingOptions = { factors: 4, epochs: 12, patience: 2, learningRate: 0.05, l2: 1e-4, seed: 3 };

test('training learns the synthetic taste: val loss falls below the first epoch’s and test AUC is well above chance', async () => {
  const result = await trainFactorizationMachine(design, labels, train, val, options);
  assert.ok(result.epochs.length >= 2);
  const losses = result.epochs.map((e) => e.valLoss!);
  assert.ok(Math.min(...losses) < losses[0]!, `val losses ${losses.join(', ')}`);
  const scores = result.model.predict(design, test_);
  const a = auc(
    scores,
    Array.from(test_, (r) => labels[r]!),
  );
  assert.ok(a > 0.65, `test AUC ${a}`);
  assert.ok(result.epochs.every((e) => e.ms >= 0 && Number.isFinite(e.trainLoss)));
});

test('early stopping keeps the best epoch’s parameters and stops after `patience` epochs without a new best', async () => {
  // A large learning rate overfits quickly, so validation loss turns up.
  const result = await trainFactorizationMachine(design, labels, train, val, { ...options, learningRate: 0.5, epochs: 30 });
  const losses = result.epochs.map((e) => e.valLoss!);
  const best = losses.indexOf(Math.min(...losses)) + 1;
  assert.equal(result.bestEpoch, best);
  assert.equal(result.epochs.length, Math.min(30, best + 2), `losses ${losses.join(', ')}`);
  // The returned model is the best epoch's: its val loss is that epoch's.
  const scores = result.model.predict(design, val);
  let loss = 0;
  val.forEach((r, j) => (loss += labels[r] ? -Math.log(scores[j]!) : -Math.log(1 - scores[j]!)));
  assert.ok(Math.abs(loss / val.length - losses[best - 1]!) < 1e-9);
});

test('the same seed gives the same model; another seed another one', async () => {
  const a = await trainFactorizationMachine(design, labels, train, val, options);
  const b = await trainFactorizationMachine(design, labels, train, val, options);
  const c = await trainFactorizationMachine(design, labels, train, val, { ...options, seed: 4 });
  assert.deepEqual(a.model.v, b.model.v);
  assert.deepEqual(
    a.epochs.map((e) => e.valLoss),
    b.epochs.map((e) => e.valLoss),
  );
  assert.notDeepEqual(a.model.v, c.model.v);
});

test('without validation rows every epoch runs and the last is kept', async () => {
  const result = await trainFactorizationMachine(design, labels, train, new Int32Array(0), { ...options, epochs: 3 });
  assert.equal(result.epochs.length, 3);
  assert.equal(result.bestEpoch, 3);
  assert.equal(result.epochs[0]!.valLoss, null);
});

test('bad hyperparameters and an empty train split are refused with one line naming the value', async () => {
  for (const [bad, pattern] of [
    [{ factors: 0 }, /factors must be a positive integer, got 0/],
    [{ learningRate: -1 }, /learningRate must be a positive number/],
    [{ l2: NaN }, /l2 must be a number ≥ 0/],
    [{ patience: 1.5 }, /patience must be a positive integer/],
  ] as const) {
    await assert.rejects(
      trainFactorizationMachine(design, labels, train, val, { ...options, ...bad }),
      (e: unknown) => e instanceof PmgError && pattern.test(e.message),
    );
  }
  await assert.rejects(trainFactorizationMachine(design, labels, new Int32Array(0), val, options), /no train rows/);
});
