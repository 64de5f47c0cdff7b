import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { PmgError } from '../errors/pmg-error.js';
import { encodeRecFeatures } from './feature-encoding.js';
import { FactorizationMachine, rowGradientScratch } from './factorization-machine.js';
import { adagradStep, trainFactorizationMachine, type FmTrainingOptions } from './fm-training.js';
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

test('an Adagrad step equals the update built from rowGradient (the gradient the finite-difference test checks), to the bit', () => {
  const lr = 0.07;
  const l2 = 0.01;
  const model = FactorizationMachine.initialised(design.columns, 4, new SeededRandom(5), 0.3);
  model.w.forEach((_, i) => (model.w[i] = Math.sin(i)));
  const state = {
    G0: Float64Array.of(0.5),
    Gw: new Float64Array(design.columns).fill(0.25),
    Gv: new Float64Array(design.columns * 4).fill(0.125),
    gradient: rowGradientScratch(design, 4),
  };
  const expected = model.clone();
  const G = { G0: state.G0[0]!, Gw: Float64Array.from(state.Gw), Gv: Float64Array.from(state.Gv) };
  for (const r of [train[0]!, train[1]!, train[2]!]) {
    const gradient = rowGradientScratch(design, 4);
    const lossBefore = expected.rowGradient(design, r, labels[r]!, l2, gradient);
    G.G0 += gradient.w0 ** 2;
    expected.w0 -= (lr * gradient.w0) / (Math.sqrt(G.G0) + 1e-8);
    for (let k = design.offsets[r]!; k < design.offsets[r + 1]!; k++) {
      const i = design.indices[k]!;
      const at = k - design.offsets[r]!;
      G.Gw[i]! += gradient.w[at]! ** 2;
      expected.w[i]! -= (lr * gradient.w[at]!) / (Math.sqrt(G.Gw[i]!) + 1e-8);
      for (let f = 0; f < 4; f++) {
        const gv = gradient.v[at * 4 + f]!;
        G.Gv[i * 4 + f]! += gv * gv;
        expected.v[i * 4 + f]! -= (lr * gv) / (Math.sqrt(G.Gv[i * 4 + f]!) + 1e-8);
      }
    }
    assert.equal(adagradStep(model, design, r, labels[r]!, lr, l2, state), lossBefore);
    assert.equal(model.w0, expected.w0);
    assert.deepEqual(model.w, expected.w);
    assert.deepEqual(model.v, expected.v);
    assert.deepEqual(state.Gv, G.Gv);
  }
});
