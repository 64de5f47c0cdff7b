import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from './random.js';
import reference from './reference/symmetric-eigen.json' with { type: 'json' };
import { symmetricEigen } from './symmetric-eigen.js';

// Matrices are filled exactly as scripts/reference/symmetric_eigen.py fills them (numpy eigvalsh made the JSON).
function gaussianMatrix(seed: number, n: number): Float64Array {
  const rng = new SeededRandom(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const x = rng.nextGaussian();
      a[i * n + j] = x;
      a[j * n + i] = x;
    }
  }
  return a;
}

function wishartMatrix(seed: number, n: number, rank: number): Float64Array {
  const rng = new SeededRandom(seed);
  const b = Float64Array.from({ length: n * rank }, () => rng.nextGaussian());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += b[i * rank + k]! * b[j * rank + k]!;
      a[i * n + j] = sum;
    }
  }
  return a;
}

/** H diag(values) H with H = I - 2 u u^T / (u.u) a seeded reflection: the eigenvalues are known exactly. */
function withKnownSpectrum(seed: number, values: readonly number[]): Float64Array {
  const n = values.length;
  const rng = new SeededRandom(seed);
  const u = Float64Array.from({ length: n }, () => rng.nextGaussian());
  const uu = u.reduce((sum, x) => sum + x * x, 0);
  const h = (i: number, j: number) => (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += h(i, k) * values[k]! * h(k, j);
      a[i * n + j] = sum;
    }
  }
  return a;
}

/** Largest |A v_k - lambda_k v_k| entry and largest |V V^T - I| entry. */
function checkDecomposition(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): { residual: number; orthogonality: number } {
  let residual = 0;
  let orthogonality = 0;
  for (let k = 0; k < n; k++) {
    const v = vectors.subarray(k * n, (k + 1) * n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += a[i * n + j]! * v[j]!;
      residual = Math.max(residual, Math.abs(sum - values[k]! * v[i]!));
    }
    for (let l = k; l < n; l++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += v[j]! * vectors[l * n + j]!;
      orthogonality = Math.max(orthogonality, Math.abs(dot - (k === l ? 1 : 0)));
    }
  }
  return { residual, orthogonality };
}

function assertValues(actual: Float64Array, expected: readonly number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: count`);
  expected.forEach((value, i) => {
    assert.ok(Math.abs(actual[i]! - value) <= tolerance, `${label}: eigenvalue ${i} is ${actual[i]}, numpy says ${value}`);
  });
}

const spectralNorm = (values: readonly number[]) => Math.max(...values.map(Math.abs));

test('eigenvalues equal numpy eigvalsh on seeded random symmetric matrices (n = 1, 2, 5, 64, 300)', () => {
  const cases = reference.cases.filter((c) => c.kind === 'gaussian');
  assert.deepEqual(
    cases.map((c) => c.n),
    [1, 2, 5, 64, 300],
  );
  for (const c of cases) {
    const a = gaussianMatrix(c.seed, c.n);
    const norm = spectralNorm(c.eigenvalues);
    const valuesOnly = symmetricEigen(a, c.n).values;
    assertValues(valuesOnly, c.eigenvalues, 1e-12 * c.n * norm, `n=${c.n}`);
    const full = symmetricEigen(a, c.n, true);
    assertValues(full.values, c.eigenvalues, 1e-12 * c.n * norm, `n=${c.n} with vectors`);
  }
});

test('A v = lambda v within 1e-9 ||A|| and the eigenvectors are orthonormal', () => {
  for (const c of reference.cases.filter((x) => x.kind === 'gaussian')) {
    const a = gaussianMatrix(c.seed, c.n);
    const { values, vectors } = symmetricEigen(a, c.n, true);
    assert.ok(vectors, 'vectors asked for');
    const { residual, orthogonality } = checkDecomposition(a, c.n, values, vectors);
    const norm = spectralNorm(c.eigenvalues);
    assert.ok(residual <= 1e-9 * norm, `n=${c.n}: residual ${residual}`);
    assert.ok(orthogonality <= 1e-12 * Math.max(1, c.n), `n=${c.n}: V V^T - I up to ${orthogonality}`);
  }
});

test('near-singular PSD matrix (rank 12 in 40-d): zero eigenvalues come out at rounding level, the rest match numpy', () => {
  const c = reference.cases.find((x) => x.kind === 'wishart')!;
  const a = wishartMatrix(c.seed, c.n, c.rank!);
  const norm = spectralNorm(c.eigenvalues);
  const { values, vectors } = symmetricEigen(a, c.n, true);
  assertValues(values, c.eigenvalues, 1e-13 * c.n * norm, 'wishart');
  for (let i = 0; i < c.n - c.rank!; i++) assert.ok(Math.abs(values[i]!) < 1e-13 * norm, `zero eigenvalue ${i}: ${values[i]}`);
  const { residual, orthogonality } = checkDecomposition(a, c.n, values, vectors!);
  assert.ok(residual <= 1e-12 * norm && orthogonality <= 1e-12, `residual ${residual}, orthogonality ${orthogonality}`);
});

test('repeated eigenvalues: exact values, and an orthonormal basis of each eigenspace', () => {
  const spectra = [[3, 3, 3, -1, -1, 0, 0, 5, 2, 2, 2, 2], Array.from({ length: 80 }, (_, i) => [4, -2, 1e-3][i % 3]!), [1, 1, 1, 1, 1, 1]];
  spectra.forEach((spectrum, index) => {
    const n = spectrum.length;
    const a = withKnownSpectrum(100 + index, spectrum);
    const expected = [...spectrum].sort((x, y) => x - y);
    const { values, vectors } = symmetricEigen(a, n, true);
    assertValues(values, expected, 1e-13 * n * spectralNorm(spectrum), `spectrum ${index}`);
    const { residual, orthogonality } = checkDecomposition(a, n, values, vectors!);
    assert.ok(residual <= 1e-12 * spectralNorm(spectrum), `spectrum ${index}: residual ${residual}`);
    assert.ok(orthogonality <= 1e-12, `spectrum ${index}: orthogonality ${orthogonality}`);
  });
});

test('special matrices: zero, diagonal, already split tridiagonal, extreme scales, asymmetric input', () => {
  const zero = symmetricEigen(new Float64Array(9), 3, true);
  assert.deepEqual(Array.from(zero.values), [0, 0, 0]);
  assert.deepEqual(Array.from(zero.vectors!), [1, 0, 0, 0, 1, 0, 0, 0, 1]);

  const diagonal = symmetricEigen(Float64Array.of(2, 0, 0, 0, -7, 0, 0, 0, 0.5), 3, true);
  assert.deepEqual(Array.from(diagonal.values), [-7, 0.5, 2]);
  assert.deepEqual(Array.from(diagonal.vectors!).map(Math.abs), [0, 1, 0, 0, 0, 1, 1, 0, 0]);

  // Two 2x2 blocks [[2,1],[1,2]] (eigenvalues 1, 3) and [[0,4],[4,0]] (-4, 4), uncoupled.
  const split = Float64Array.of(2, 1, 0, 0, 1, 2, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0);
  assertValues(symmetricEigen(split, 4).values, [-4, 1, 3, 4], 1e-14, 'split');

  const base = gaussianMatrix(7005, 5);
  const expected = reference.cases.find((c) => c.kind === 'gaussian' && c.n === 5)!.eigenvalues;
  for (const scale of [2 ** 600, 2 ** -600]) {
    const values = symmetricEigen(
      base.map((x) => x * scale),
      5,
    ).values;
    assertValues(
      values.map((x) => x / scale),
      expected,
      1e-13,
      `scale ${scale}`,
    );
  }
  // Only the symmetric part counts: adding an antisymmetric matrix changes nothing.
  const skewed = base.map((x, k) => x + (Math.floor(k / 5) < k % 5 ? 1 : Math.floor(k / 5) > k % 5 ? -1 : 0));
  assertValues(symmetricEigen(skewed, 5).values, expected, 1e-13, 'with antisymmetric part');
});

test('bad input: wrong length throws, non-finite entries give NaN', () => {
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), RangeError);
  assert.ok(Number.isNaN(symmetricEigen(Float64Array.of(1, Number.NaN, Number.NaN, 1), 2).values[0]));
  assert.ok(Number.isNaN(symmetricEigen(Float64Array.of(Infinity, 0, 0, 1), 2, true).vectors![0]));
  assert.deepEqual(symmetricEigen(new Float64Array(0), 0, true), { values: new Float64Array(0), vectors: new Float64Array(0) });
});
