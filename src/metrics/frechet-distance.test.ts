import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigen } from '../core/symmetric-eigen.js';
import { PmgError } from '../errors/pmg-error.js';
import { frechetDistance, frechetDistanceDetails, frechetDistanceOfFeatures, gaussianStats } from './frechet-distance.js';
import reference from './reference/fid.json' with { type: 'json' };
import pytorchFid from './reference/fid-pytorch-fid.json' with { type: 'json' };

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

test('pytorch-fid convention (scipy sqrtm reference): a singular first covariance, a near-singular pair', () => {
  const details = pytorchFid.cases
    .filter((c) => 'fid_pytorch_fid' in c)
    .map((c) => {
      const d = c.mu1.length;
      const result = frechetDistanceDetails(
        { dim: d, mean: Float64Array.from(c.mu1), cov: flat(c.sigma1) },
        { dim: d, mean: Float64Array.from(c.mu2), cov: flat(c.sigma2) },
      );
      // scipy's sqrtm is itself only this close here (its result has imaginary parts up to ~1e-6).
      assert.ok(
        Math.abs(result.value - c.fid_pytorch_fid!) < 1e-5 * Math.max(1, Math.abs(c.fid_pytorch_fid!)),
        `${c.name}: ${result.value} != ${c.fid_pytorch_fid}`,
      );
      assert.equal(result.epsilonAdded, c.eps_fallback);
      return [c.name, result.route];
    });
  // The singular first covariance has no Cholesky factor: the second one's is used (tr sqrt(S1 S2) = tr sqrt(S2 S1)).
  assert.deepEqual(Object.fromEntries(details), { 'first-singular': 'cholesky-2', 'near-singular-32': 'cholesky-1' });
});

test('a product with a clearly negative eigenvalue is refused, as pytorch-fid raises "Imaginary component"', () => {
  const c = pytorchFid.cases.find((x) => x.name === 'not-a-covariance')!;
  assert.match(c.raises!, /^Imaginary component/);
  const d = c.mu1.length;
  assert.throws(
    () => frechetDistance({ dim: d, mean: Float64Array.from(c.mu1), cov: flat(c.sigma1) }, { dim: d, mean: Float64Array.from(c.mu2), cov: flat(c.sigma2) }),
    (e: unknown) =>
      e instanceof PmgError && e.code === 'invalid-argument' && /eigenvalue -19\.56.*imaginary part 4\.42\d* > 0\.001.*Imaginary component/.test(e.message),
  );
});

test('rounding-level negative eigenvalues count as 0; non-finite statistics are refused with one line', () => {
  // Rank-1 covariances in 3-d: the product has eigenvalues 0 that come out as about -1e-17.
  const u = [1, 2, 3];
  const v = [3, -1, 2];
  const outer = (x: number[]) => Float64Array.from(x.flatMap((a) => x.map((b) => a * b)));
  const result = frechetDistanceDetails({ dim: 3, mean: new Float64Array(3), cov: outer(u) }, { dim: 3, mean: new Float64Array(3), cov: outer(v) });
  // tr sqrt(u uᵀ v vᵀ) = |u·v| = 7: d = 14 + 14 - 2·7.
  assert.ok(Math.abs(result.value - 14) < 1e-9, `${result.value}`);
  assert.equal(result.route, 'eigenvectors');
  // Entries near 1e200 overflow the product: pytorch-fid's eps·I retry is made, and then one clear line.
  const huge = { dim: 2, mean: new Float64Array(2), cov: Float64Array.of(4e200, 1e200, 1e200, 3e200) };
  assert.throws(
    () => frechetDistance(huge, huge),
    /tr sqrt\(S1 S2\) is not finite, even with 0\.000001 added to both diagonals \(pytorch-fid's fallback\).*4\.00e\+200/,
  );
  const bad = { dim: 2, mean: Float64Array.of(0, Number.NaN), cov: Float64Array.of(1, 0, 0, 1) };
  assert.throws(() => frechetDistance(bad, bad), /first Gaussian's mean has the value NaN at index 1; FID needs finite features/);
  assert.throws(
    () => frechetDistanceOfFeatures([Float64Array.of(1, 2), Float64Array.of(1, Infinity)], [Float64Array.of(1, 2), Float64Array.of(0, 1)]),
    /features of generated image 1 are not all finite/,
  );
});
