/**
 * Fréchet distance between two Gaussians, in float64 (the FID formula):
 *
 *   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( (S1 S2)^(1/2) )
 *
 * The trace of the matrix square root is computed without a general (non-symmetric) sqrtm:
 * tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i) where lambda_i are the eigenvalues of the symmetric
 * PSD matrix  R S2 R,  R = S1^(1/2) (from the eigen-decomposition S1 = V D V^T, negative rounding-error
 * eigenvalues clamped to 0). R S2 R is orthogonally similar to F S2 F^T with F = D^(1/2) V^T, whose
 * rows for zero eigenvalues vanish, so the eigenvalues come from that smaller r x r matrix (r = rank
 * of S1): about 1.5 n^3 multiply-adds instead of forming R and two n x n products.
 * From feature matrices with fewer samples than dimensions the same number is the nuclear norm of A1^T A2 (A = centred features / sqrt(n-1)), computed from the
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
  const { matrix, size } = whitenedProduct(a.cov, b.cov, n);
  const traceSqrt = sumSqrt(symmetricEigen(matrix, size).values);
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

/**
 * F S2 F^T (size r x r, row-major) with F = D^(1/2) V^T from S1 = V D V^T, keeping only the r rows of
 * positive eigenvalues. It has the same eigenvalues as R S2 R (R = S1^(1/2)), apart from zeros.
 */
function whitenedProduct(s1: Float64Array, s2: Float64Array, n: number): { matrix: Float64Array; size: number } {
  const { values, vectors } = symmetricEigen(s1, n, true);
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
