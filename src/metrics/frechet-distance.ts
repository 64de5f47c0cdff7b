/**
 * Fréchet distance between two Gaussians, in float64 (the FID formula):
 *
 *   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( (S1 S2)^(1/2) )
 *
 * The trace of the matrix square root is computed without a general (non-symmetric) sqrtm:
 * tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i) where lambda_i are the eigenvalues of the symmetric
 * PSD matrix  R S2 R,  R = S1^(1/2) (from the eigen-decomposition of S1, negative rounding-error
 * eigenvalues clamped to 0). From feature matrices with fewer samples than dimensions the same
 * number is the nuclear norm of A1^T A2 (A = centred features / sqrt(n-1)), computed from the
 * eigenvalues of the small n1 x n1 (or n2 x n2) Gram matrix; no d x d eigen-decomposition then.
 * Covariances use n-1 (numpy.cov's default, as pytorch-fid). Checked against scipy.linalg.sqrtm
 * on known Gaussians, including near-singular ones (src/metrics/reference/fid.json).
 */
import { symmetricEigen } from '../core/symmetric-eigen.js';
import { PmgError } from '../errors/pmg-error.js';

export interface GaussianStats {
  dim: number;
  mean: Float64Array;
  /** dim x dim, row-major. */
  cov: Float64Array;
}

export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  if (a.dim !== b.dim) throw new PmgError('invalid-argument', `Fréchet distance needs statistics of the same dimension, got ${a.dim} and ${b.dim}`);
  const n = a.dim;
  const root = symmetricSqrt(a.cov, n);
  const m = multiply(multiply(root, b.cov, n), root, n);
  const traceSqrt = sumSqrt(symmetricEigen(m, n).values);
  return meanTerm(a.mean, b.mean) + trace(a.cov, n) + trace(b.cov, n) - 2 * traceSqrt;
}

/** Mean and covariance (divisor n-1) of feature rows. */
export function gaussianStats(features: readonly Float64Array[]): GaussianStats {
  const count = features.length;
  if (count < 2) throw new PmgError('invalid-argument', `FID needs at least 2 images per set to estimate a covariance, got ${count}`);
  const dim = features[0]!.length;
  const mean = featureMean(features, dim);
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (const row of features) {
    for (let i = 0; i < dim; i++) centred[i] = row[i]! - mean[i]!;
    for (let i = 0; i < dim; i++) {
      const ci = centred[i]!;
      if (ci === 0) continue;
      for (let j = i; j < dim; j++) cov[i * dim + j]! += ci * centred[j]!;
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = cov[i * dim + j]! / (count - 1);
      cov[i * dim + j] = value;
      cov[j * dim + i] = value;
    }
  }
  return { dim, mean, cov };
}

/** FID between two sets of feature rows (same result as frechetDistance(gaussianStats(x), gaussianStats(y))). */
export function frechetDistanceOfFeatures(x: readonly Float64Array[], y: readonly Float64Array[]): number {
  if (x.length < 2 || y.length < 2) throw new PmgError('invalid-argument', `FID needs at least 2 images per set, got ${x.length} and ${y.length}`);
  const dim = x[0]!.length;
  if (y[0]!.length !== dim) throw new PmgError('invalid-argument', `FID feature sizes differ: ${dim} and ${y[0]!.length}`);
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

function symmetricSqrt(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n, true);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const root = Math.sqrt(Math.max(0, values[k]!));
    if (root === 0) continue;
    const v = vectors!.subarray(k * n, (k + 1) * n);
    for (let i = 0; i < n; i++) {
      const vi = v[i]! * root;
      for (let j = 0; j < n; j++) out[i * n + j]! += vi * v[j]!;
    }
  }
  return out;
}

function multiply(x: Float64Array, y: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const xik = x[i * n + k]!;
      if (xik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += xik * y[k * n + j]!;
    }
  }
  return out;
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
