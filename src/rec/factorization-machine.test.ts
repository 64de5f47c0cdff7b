import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { FactorizationMachine, logLossOfLogit, rowGradientScratch, sigmoid } from './factorization-machine.js';
import type { SparseDesign } from './feature-encoding.js';

/** Two rows over 5 columns; row 1 has real-valued features. */
const design: SparseDesign = {
  rows: 2,
  columns: 5,
  offsets: Int32Array.from([0, 3, 7]),
  indices: Int32Array.from([0, 2, 4, 1, 2, 3, 4]),
  values: Float32Array.from([1, 0.5, -1.25, 1, 0.75, 2, 0.5]),
  fields: [],
};

function model(): FactorizationMachine {
  const m = FactorizationMachine.initialised(5, 3, new SeededRandom(7), 0.5);
  const random = new SeededRandom(8);
  m.w0 = 0.3;
  for (let i = 0; i < m.w.length; i++) m.w[i] = random.nextGaussian() * 0.5;
  return m;
}

test('the logit equals the FM formula written out over pairs: w0 + Σ w_i x_i + Σ_{i<j} <v_i, v_j> x_i x_j', () => {
  const m = model();
  for (let r = 0; r < design.rows; r++) {
    const cols: number[] = [];
    const xs: number[] = [];
    for (let k = design.offsets[r]!; k < design.offsets[r + 1]!; k++) {
      cols.push(design.indices[k]!);
      xs.push(design.values[k]!);
    }
    let expected = m.w0;
    cols.forEach((i, a) => (expected += m.w[i]! * xs[a]!));
    for (let a = 0; a < cols.length; a++)
      for (let b = a + 1; b < cols.length; b++) {
        let dot = 0;
        for (let f = 0; f < 3; f++) dot += m.v[cols[a]! * 3 + f]! * m.v[cols[b]! * 3 + f]!;
        expected += dot * xs[a]! * xs[b]!;
      }
    const actual = m.logit(design, r, new Float64Array(3));
    assert.ok(Math.abs(actual - expected) < 1e-12, `row ${r}: ${actual} vs ${expected}`);
  }
});

test('the analytic gradient of the regularised row loss equals central finite differences (w0, every w, every v of the row)', () => {
  const l2 = 0.03;
  const h = 1e-6;
  for (let r = 0; r < design.rows; r++) {
    for (const label of [0, 1]) {
      const m = model();
      const gradient = rowGradientScratch(design, 3);
      m.rowGradient(design, r, label, l2, gradient);
      const start = design.offsets[r]!;
      const end = design.offsets[r + 1]!;
      const objective = (): number => {
        let penalty = 0;
        for (let k = start; k < end; k++) {
          const i = design.indices[k]!;
          penalty += m.w[i]! ** 2;
          for (let f = 0; f < 3; f++) penalty += m.v[i * 3 + f]! ** 2;
        }
        return logLossOfLogit(m.logit(design, r, new Float64Array(3)), label) + (l2 / 2) * penalty;
      };
      const numeric = (get: () => number, set: (x: number) => void): number => {
        const x = get();
        set(x + h);
        const up = objective();
        set(x - h);
        const down = objective();
        set(x);
        return (up - down) / (2 * h);
      };
      const check = (analytic: number, num: number, what: string) =>
        assert.ok(Math.abs(analytic - num) < 1e-7 * Math.max(1, Math.abs(num)), `row ${r} label ${label} ${what}: analytic ${analytic} vs numeric ${num}`);
      // w0 carries no L2: its gradient is the loss gradient alone.
      const lossOnly = () => logLossOfLogit(m.logit(design, r, new Float64Array(3)), label);
      const x0 = m.w0;
      m.w0 = x0 + h;
      const up = lossOnly();
      m.w0 = x0 - h;
      const down = lossOnly();
      m.w0 = x0;
      check(gradient.w0, (up - down) / (2 * h), 'w0');
      for (let k = start; k < end; k++) {
        const i = design.indices[k]!;
        check(
          gradient.w[k - start]!,
          numeric(
            () => m.w[i]!,
            (x) => (m.w[i] = x),
          ),
          `w[${i}]`,
        );
        for (let f = 0; f < 3; f++)
          check(
            gradient.v[(k - start) * 3 + f]!,
            numeric(
              () => m.v[i * 3 + f]!,
              (x) => (m.v[i * 3 + f] = x),
            ),
            `v[${i},${f}]`,
          );
      }
    }
  }
});

test('sigmoid and the logit log loss are stable far from 0', () => {
  assert.equal(sigmoid(800), 1);
  assert.equal(sigmoid(-800), 0);
  assert.ok(Math.abs(logLossOfLogit(-800, 1) - 800) < 1e-9);
  assert.ok(Math.abs(logLossOfLogit(0, 1) - Math.LN2) < 1e-15);
  assert.equal(logLossOfLogit(800, 1), 0);
});
