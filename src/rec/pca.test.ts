import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { assetPath } from '../core/package-root.js';
import { PmgError } from '../errors/pmg-error.js';
import { fitPca, pcaTransform } from './pca.js';

interface Case {
  name: string;
  rows: number;
  dim: number;
  k: number;
  fitRows: number[];
  values: number[];
  mean: number[];
  variances: number[];
  explainedRatio: number[];
  components: number[][];
  projections: number[][];
}
const reference = JSON.parse(readFileSync(assetPath('src', 'rec', 'reference', 'pca-reference.json'), 'utf8')) as { cases: Case[] };

test('PCA equals numpy.linalg.eigh of the covariance of the fitted rows (components up to sign)', () => {
  assert.equal(reference.cases.length, 2);
  for (const c of reference.cases) {
    const model = fitPca(c.values, c.dim, c.k, c.fitRows);
    c.mean.forEach((m, j) => assert.ok(Math.abs(model.mean[j]! - m) < 1e-12, `${c.name} mean ${j}`));
    c.variances.forEach((v, j) =>
      assert.ok(Math.abs(model.variances[j]! - v) < 1e-10 * Math.max(1, v), `${c.name} variance ${j}: ${model.variances[j]} vs ${v}`),
    );
    c.explainedRatio.forEach((v, j) => assert.ok(Math.abs(model.explainedRatio[j]! - v) < 1e-10, `${c.name} ratio ${j}`));
    const signs = c.components.map((ref, j) => {
      const dot = ref.reduce((s, x, i) => s + x * model.components[j * c.dim + i]!, 0);
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-9, `${c.name} component ${j}: |dot| ${dot}`);
      return Math.sign(dot);
    });
    const projected = pcaTransform(model, c.values);
    assert.equal(projected.length, c.rows * c.k);
    c.projections.forEach((row, i) =>
      row.forEach((p, j) => assert.ok(Math.abs(projected[i * c.k + j]! - signs[j]! * p) < 1e-5, `${c.name} projection ${i},${j}`)),
    );
  }
});

test('PCA signs are fixed (largest entry positive) and the fit uses only the given rows', () => {
  const c = reference.cases[0]!;
  const model = fitPca(c.values, c.dim, c.k, c.fitRows);
  for (let j = 0; j < c.k; j++) {
    const v = Array.from(model.components.subarray(j * c.dim, (j + 1) * c.dim));
    const big = v.reduce((b, x, i) => (Math.abs(x) > Math.abs(v[b]!) ? i : b), 0);
    assert.ok(v[big]! > 0);
  }
  // Changing a row outside the fitted ones changes nothing of the fit.
  const changed = [...c.values];
  for (let j = 0; j < c.dim; j++) changed[55 * c.dim + j] = 100 + j;
  assert.deepEqual(fitPca(changed, c.dim, c.k, c.fitRows).components, model.components);
  assert.notDeepEqual(fitPca(changed, c.dim, c.k).components, model.components);
});

test('PCA refuses more components than the width and fewer than 2 rows', () => {
  assert.throws(
    () => fitPca(new Float32Array(12), 4, 5),
    (e: unknown) => e instanceof PmgError && /5 components asked of 4-wide rows; use 1 to 4/.test(e.message),
  );
  assert.throws(
    () => fitPca(new Float32Array(12), 4, 2, [1]),
    (e: unknown) => e instanceof PmgError && /at least 2 rows, got 1/.test(e.message),
  );
});
