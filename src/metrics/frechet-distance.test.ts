import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigen } from '../core/symmetric-eigen.js';
import { frechetDistance, frechetDistanceOfFeatures, gaussianStats } from './frechet-distance.js';
import reference from './reference/fid.json' with { type: 'json' };

const flat = (m: number[][]) => Float64Array.from(m.flat());
const rows = (m: number[][]) => m.map((r) => Float64Array.from(r));

test('the symmetric eigen-decomposition reconstructs the matrix', () => {
  const a = flat(reference.cases[0]!.sigma1);
  const n = 6;
  const { values, vectors } = symmetricEigen(a, n, true);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += vectors![k * n + i]! * values[k]! * vectors![k * n + j]!;
      assert.ok(Math.abs(sum - a[i * n + j]!) < 1e-10);
    }
  }
  assert.ok(values[0]! <= values[n - 1]!);
});

test('Fréchet distance equals scipy.linalg.sqrtm reference on known Gaussians (incl. near-singular)', () => {
  for (const c of reference.cases) {
    const d = c.mu1.length;
    const value = frechetDistance(
      { dim: d, mean: Float64Array.from(c.mu1), cov: flat(c.sigma1) },
      { dim: d, mean: Float64Array.from(c.mu2), cov: flat(c.sigma2) },
    );
    const tolerance = 1e-6 * Math.max(1, Math.abs(c.fid_scipy_sqrtm));
    assert.ok(Math.abs(value - c.fid_scipy_sqrtm) < Math.max(tolerance, 1e-6), `${c.name}: ${value} != ${c.fid_scipy_sqrtm}`);
    assert.ok(Math.abs(value - c.fid_eigh) < 1e-8 * Math.max(1, c.fid_eigh), `${c.name} vs eigh: ${value} != ${c.fid_eigh}`);
  }
});

test('FID from features (fewer samples than dimensions) matches both paths and scipy', () => {
  const f = reference.from_features;
  const x = rows(f.features1);
  const y = rows(f.features2);
  const viaFactors = frechetDistanceOfFeatures(x, y);
  const viaCovariance = frechetDistance(gaussianStats(x), gaussianStats(y));
  // Singular sample covariances: sqrtm itself is only good to ~1e-7 here; the SVD value is the exact one.
  assert.ok(Math.abs(viaFactors - f.fid_scipy_sqrtm) < 1e-6, `${viaFactors} != ${f.fid_scipy_sqrtm}`);
  assert.ok(Math.abs(viaFactors - f.fid_svd) < 1e-7, `${viaFactors} != ${f.fid_svd}`);
  assert.ok(Math.abs(viaFactors - viaCovariance) < 1e-6);
});

test('FID needs two images per set', () => {
  assert.throws(() => gaussianStats([Float64Array.of(1, 2)]), /at least 2 images/);
});
