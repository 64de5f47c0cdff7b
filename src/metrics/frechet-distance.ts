/**
 * Fréchet distance between two Gaussians, in float64 (the FID formula, pytorch-fid's
 * `calculate_frechet_distance`):
 *
 *   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( (S1 S2)^(1/2) )
 *
 * pytorch-fid takes the trace of scipy.linalg.sqrtm(S1 S2). Here no matrix square root is formed:
 * tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i) over the eigenvalues of S1 S2, which are those of one symmetric
 * matrix, and only its eigenvalues are computed (core/symmetric-eigen.ts):
 * 1. S1 = L Lᵀ (Cholesky, core/cholesky.ts) and the eigenvalues of Lᵀ S2 L. About 3n³/2 multiply-adds: a
 *    2048-d FID takes about 10 s on one core of the development machine (`pmg bench metrics` reports it).
 * 2. If S1 is not positive definite, the same with S2 = L Lᵀ and Lᵀ S1 L (tr sqrt(S1 S2) = tr sqrt(S2 S1)).
 * 3. If neither is (both singular, e.g. fewer images than dimensions), the eigenvalues of F S2 Fᵀ with
 *    F = D^½ Vᵀ from S1 = V D Vᵀ, which needs S1's eigenvectors (exact but several times slower; from
 *    features, frechetDistanceOfFeatures avoids it, see below).
 * pytorch-fid's two safeguards, in this route:
 * - Imaginary part. scipy's sqrtm of S1 S2 is complex when S1 S2 has negative eigenvalues (rounding, or a
 *   matrix that is not a covariance); pytorch-fid keeps the real part if the imaginary parts on the diagonal
 *   are within 1e-3, else raises "Imaginary component". Here the square root of a negative eigenvalue λ
 *   has the imaginary part sqrt(-λ): a value within 1e-3 counts as 0, a larger one is an error
 *   (PmgError invalid-argument, naming λ). In route 3, S1's own eigenvalues are checked the same way.
 * - eps·I. When sqrtm's result is not finite, pytorch-fid adds eps = 1e-6 to the diagonals of both
 *   covariances and computes again (it prints "fid calculation produces singular product"). scipy's sqrtm
 *   fails on exactly singular products whose zero eigenvalues are coupled (a square root does not exist);
 *   eigenvalues always exist, so this route never needs the offset for finite covariances, and it keeps the
 *   same fallback for a trace term that is not finite (overflow), reported in `epsilonAdded`; if the retry is
 *   not finite either, one line says so (pytorch-fid would return NaN).
 * Where pytorch-fid's sqrtm succeeds, both compute the same number: checked against a scipy.linalg.sqrtm
 * implementation of pytorch-fid's function, including a near-singular pair and a 2048-d pair
 * (src/metrics/reference/fid.json, fid-2048.json).
 * From feature matrices with fewer samples than dimensions the same number is the nuclear norm of A1ᵀA2
 * (A = centred features / sqrt(n-1)), computed from the eigenvalues of the small n1 x n1 (or n2 x n2) Gram
 * matrix; no d x d work then. Covariances use n-1 (numpy.cov's default, as pytorch-fid).
 */
import { choleskyLower, congruence } from '../core/cholesky.js';
import { addProductTransposed, block } from '../core/matrix-product.js';
import { symmetricEigen } from '../core/symmetric-eigen.js';
import { PmgError } from '../errors/pmg-error.js';

/** pytorch-fid's `eps`: added to both covariance diagonals when the trace term is not finite. */
export const FID_EPSILON = 1e-6;
/** pytorch-fid's tolerance on the imaginary part of sqrtm's diagonal (`atol=1e-3`). */
export const FID_IMAGINARY_TOLERANCE = 1e-3;

export interface GaussianStats {
  dim: number;
  mean: Float64Array;
  /** dim x dim, row-major. */
  cov: Float64Array;
}

export interface FrechetDetails {
  value: number;
  /** Which symmetric matrix gave the eigenvalues (see the file comment). */
  route: 'cholesky-1' | 'cholesky-2' | 'eigenvectors';
  /** Smallest eigenvalue of S1 S2 (negative values within the tolerance were counted as 0). */
  smallestEigenvalue: number;
  /** Whether pytorch-fid's eps·I had to be added (the first trace term was not finite). */
  epsilonAdded: boolean;
}

export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  return frechetDistanceDetails(a, b).value;
}

export function frechetDistanceDetails(a: GaussianStats, b: GaussianStats): FrechetDetails {
  if (a.dim !== b.dim) throw new PmgError('invalid-argument', `Fréchet distance needs statistics of the same dimension, got ${a.dim} and ${b.dim}`);
  const n = a.dim;
  checkFinite(a, 'first');
  checkFinite(b, 'second');
  let epsilonAdded = false;
  let s1 = a.cov;
  let s2 = b.cov;
  let root = traceSqrtProduct(s1, s2, n);
  if (!Number.isFinite(root.traceSqrt)) {
    epsilonAdded = true;
    s1 = withDiagonalOffset(s1, n, FID_EPSILON);
    s2 = withDiagonalOffset(s2, n, FID_EPSILON);
    root = traceSqrtProduct(s1, s2, n);
    if (!Number.isFinite(root.traceSqrt)) {
      throw new PmgError(
        'invalid-argument',
        `Fréchet distance: tr sqrt(S1 S2) is not finite, even with ${FID_EPSILON} added to both diagonals (pytorch-fid's fallback); the covariances overflow float64 (largest entries ${maxAbs(a.cov).toExponential(2)} and ${maxAbs(b.cov).toExponential(2)})`,
      );
    }
  }
  const value = meanTerm(a.mean, b.mean) + trace(a.cov, n) + trace(b.cov, n) - 2 * root.traceSqrt;
  return { value, route: root.route, smallestEigenvalue: root.smallest, epsilonAdded };
}

/** tr((S1 S2)^(1/2)) from the eigenvalues of a symmetric matrix with the eigenvalues of S1 S2. */
function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number): { traceSqrt: number; route: FrechetDetails['route']; smallest: number } {
  let route: FrechetDetails['route'] = 'cholesky-1';
  let values: Float64Array;
  const l1 = choleskyLower(s1, n);
  const l2 = l1 ? undefined : choleskyLower(s2, n);
  if (l1) values = symmetricEigen(congruence(l1, s2, n), n).values;
  else if (l2) {
    route = 'cholesky-2';
    values = symmetricEigen(congruence(l2, s1, n), n).values;
  } else {
    route = 'eigenvectors';
    const { matrix, size } = whitenedProduct(s1, s2, n);
    values = symmetricEigen(matrix, size).values;
  }
  const smallest = values.length ? values[0]! : 0;
  checkImaginary(smallest, 'the product of the covariances');
  return { traceSqrt: sumSqrt(values), route, smallest };
}

function checkImaginary(smallest: number, what: string): void {
  if (smallest < 0 && Math.sqrt(-smallest) > FID_IMAGINARY_TOLERANCE) {
    throw new PmgError(
      'invalid-argument',
      `Fréchet distance: ${what} has the eigenvalue ${smallest.toPrecision(4)}, whose square root has the imaginary part ${Math.sqrt(-smallest).toPrecision(4)} > ${FID_IMAGINARY_TOLERANCE} (pytorch-fid raises "Imaginary component" here); the covariances must be positive semidefinite`,
      { details: { smallestEigenvalue: smallest } },
    );
  }
}

function checkFinite(stats: GaussianStats, which: string): void {
  if (stats.mean.length !== stats.dim || stats.cov.length !== stats.dim * stats.dim) {
    throw new PmgError(
      'invalid-argument',
      `the ${which} Gaussian has a mean of ${stats.mean.length} and a covariance of ${stats.cov.length} values for dimension ${stats.dim}`,
    );
  }
  for (const [name, values] of [
    ['mean', stats.mean],
    ['covariance', stats.cov],
  ] as const) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new PmgError('invalid-argument', `the ${which} Gaussian's ${name} has the value ${values[i]} at index ${i}; FID needs finite features`, {
          details: { index: i },
        });
      }
    }
  }
}

function maxAbs(m: Float64Array): number {
  let max = 0;
  for (const v of m) max = Math.max(max, Math.abs(v));
  return max;
}

function withDiagonalOffset(m: Float64Array, n: number, offset: number): Float64Array {
  const out = Float64Array.from(m);
  for (let i = 0; i < n; i++) out[i * n + i]! += offset;
  return out;
}

/** Mean and covariance (divisor n-1) of feature rows; the covariance is one blocked product Xcᵀ Xc. */
export function gaussianStats(features: readonly Float64Array[]): GaussianStats {
  const count = features.length;
  if (count < 2) throw new PmgError('invalid-argument', `FID needs at least 2 images per set to estimate a covariance, got ${count}`);
  const dim = features[0]!.length;
  const mean = featureMean(features, dim);
  // Centred features transposed (dim x count): the covariance entry (i, j) is the dot product of rows i and j.
  const centredT = new Float64Array(dim * count);
  features.forEach((row, k) => {
    for (let i = 0; i < dim; i++) centredT[i * count + k] = row[i]! - mean[i]!;
  });
  const cov = new Float64Array(dim * dim);
  addProductTransposed(dim, dim, count, block(centredT, count), block(centredT, count), block(cov, dim), 1 / (count - 1), true);
  for (let i = 0; i < dim; i++) for (let j = i + 1; j < dim; j++) cov[j * dim + i] = cov[i * dim + j]!;
  return { dim, mean, cov };
}

/** FID between two sets of feature rows (same result as frechetDistance(gaussianStats(x), gaussianStats(y))). */
export function frechetDistanceOfFeatures(x: readonly Float64Array[], y: readonly Float64Array[]): number {
  if (x.length < 2 || y.length < 2) throw new PmgError('invalid-argument', `FID needs at least 2 images per set, got ${x.length} and ${y.length}`);
  const dim = x[0]!.length;
  if (y[0]!.length !== dim) throw new PmgError('invalid-argument', `FID feature sizes differ: ${dim} and ${y[0]!.length}`);
  for (const [which, rows] of [
    ['generated', x],
    ['reference', y],
  ] as const) {
    rows.forEach((row, k) => {
      if (!row.every(Number.isFinite))
        throw new PmgError('invalid-argument', `the features of ${which} image ${k} are not all finite; FID needs finite features`, { details: { image: k } });
    });
  }
  if (Math.min(x.length, y.length) >= dim) return frechetDistance(gaussianStats(x), gaussianStats(y));
  const a = centredScaled(x, dim);
  const b = centredScaled(y, dim);
  // C = A^T B  (n1 x n2), A and B stored as rows of samples.
  const n1 = x.length;
  const n2 = y.length;
  const c = new Float64Array(n1 * n2);
  for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) c[i * n2 + j] = dot(a[i]!, b[j]!);
  const small = Math.min(n1, n2);
  const gram = new Float64Array(small * small);
  for (let i = 0; i < small; i++) {
    for (let j = i; j < small; j++) {
      let acc = 0;
      if (n1 <= n2) for (let k = 0; k < n2; k++) acc += c[i * n2 + k]! * c[j * n2 + k]!;
      else for (let k = 0; k < n1; k++) acc += c[k * n2 + i]! * c[k * n2 + j]!;
      gram[i * small + j] = acc;
      gram[j * small + i] = acc;
    }
  }
  const traceSqrt = sumSqrt(symmetricEigen(gram, small).values);
  const traceA = a.reduce((sum, row) => sum + dot(row, row), 0);
  const traceB = b.reduce((sum, row) => sum + dot(row, row), 0);
  return meanTerm(featureMean(x, dim), featureMean(y, dim)) + traceA + traceB - 2 * traceSqrt;
}

function centredScaled(rows: readonly Float64Array[], dim: number): Float64Array[] {
  const mean = featureMean(rows, dim);
  const scale = 1 / Math.sqrt(rows.length - 1);
  return rows.map((row) => Float64Array.from({ length: dim }, (_, i) => (row[i]! - mean[i]!) * scale));
}

function featureMean(rows: readonly Float64Array[], dim: number): Float64Array {
  const mean = new Float64Array(dim);
  for (const row of rows) {
    if (row.length !== dim) throw new PmgError('invalid-argument', `FID feature rows differ in length (${dim} and ${row.length})`);
    for (let i = 0; i < dim; i++) mean[i]! += row[i]!;
  }
  for (let i = 0; i < dim; i++) mean[i]! /= rows.length;
  return mean;
}

/**
 * F S2 F^T (size r x r, row-major) with F = D^(1/2) V^T from S1 = V D V^T, keeping only the r rows of
 * positive eigenvalues. It has the same eigenvalues as R S2 R (R = S1^(1/2)), apart from zeros.
 */
function whitenedProduct(s1: Float64Array, s2: Float64Array, n: number): { matrix: Float64Array; size: number } {
  const { values, vectors } = symmetricEigen(s1, n, true);
  checkImaginary(values[0] ?? 0, 'the first covariance');
  const kept: number[] = [];
  for (let k = 0; k < n; k++) if (values[k]! > 0) kept.push(k);
  const size = kept.length;
  const f = new Float64Array(size * n);
  kept.forEach((k, row) => {
    const root = Math.sqrt(values[k]!);
    for (let i = 0; i < n; i++) f[row * n + i] = root * vectors![k * n + i]!;
  });
  // W = F S2 (size x n), row by row along contiguous rows of S2.
  const w = new Float64Array(size * n);
  for (let row = 0; row < size; row++) {
    const out = w.subarray(row * n, (row + 1) * n);
    for (let i = 0; i < n; i++) {
      const fi = f[row * n + i]!;
      if (fi === 0) continue;
      const s2Row = i * n;
      for (let j = 0; j < n; j++) out[j]! += fi * s2[s2Row + j]!;
    }
  }
  // M = W F^T, symmetric (S2 is): M[k][l] = W_k . F_l.
  const matrix = new Float64Array(size * size);
  for (let k = 0; k < size; k++) {
    const wk = w.subarray(k * n, (k + 1) * n);
    for (let l = k; l < size; l++) {
      const value = dot(wk, f.subarray(l * n, (l + 1) * n));
      matrix[k * size + l] = value;
      matrix[l * size + k] = value;
    }
  }
  return { matrix, size };
}

function sumSqrt(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += Math.sqrt(Math.max(0, value));
  return sum;
}

function trace(m: Float64Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += m[i * n + i]!;
  return sum;
}

function meanTerm(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return sum;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
