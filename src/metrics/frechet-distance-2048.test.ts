import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frechetDistanceDetails } from './frechet-distance.js';
import { seededGaussianStats } from './seeded-gaussian.js';
import reference from './reference/fid-pytorch-fid.json' with { type: 'json' };

const c = reference.case_2048;

test('2048-d FID equals the pytorch-fid (scipy sqrtm) reference, from eigenvalues only', () => {
  const a = seededGaussianStats(c.seed1, c.dim, c.rank);
  const b = seededGaussianStats(c.seed2, c.dim, c.rank, c.mu2_scale);
  let trace = 0;
  for (let i = 0; i < c.dim; i++) trace += a.cov[i * c.dim + i]!;
  assert.ok(Math.abs(trace - c.trace_sigma1) < 1e-9 * c.trace_sigma1, 'same matrices as the Python rule');
  const started = performance.now();
  const result = frechetDistanceDetails(a, b);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(result.route, 'cholesky-1');
  assert.equal(result.epsilonAdded, false);
  assert.ok(Math.abs(result.value - c.fid_pytorch_fid) < 1e-8 * c.fid_pytorch_fid, `${result.value} != ${c.fid_pytorch_fid}`);
  // Not a benchmark (that is `pmg bench metrics`), only a guard against falling back to the old O(n^3) paths with vectors.
  assert.ok(seconds < 60, `2048-d Fréchet distance took ${seconds.toFixed(1)} s`);
});
