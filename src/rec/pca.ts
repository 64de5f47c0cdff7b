/**
 * Principal component analysis, fitted on chosen rows of a dense matrix (issue 15: the CLIP embeddings of the
 * training rows only, so nothing of the validation or test rows shapes the features).
 *
 * Fit: the rows' mean is subtracted; the covariance C = Xcᵀ Xc / (n − 1) (d × d, float64, by the cache-blocked
 * product of core/matrix-product.ts) is diagonalised by core/symmetric-eigen.ts (Householder tridiagonalisation +
 * implicit QR, deterministic); the k eigenvectors of the largest eigenvalues are the components, in decreasing
 * order of variance. Sign: each component is flipped so that its entry of largest magnitude is positive (the
 * first such entry on a tie), so a fit is the same on every run. Checked against numpy.linalg.eigh
 * (src/rec/reference/pca-reference.json).
 * Transform: (x − mean) · componentsᵀ.
 */
import { addProductTransposed, block } from '../core/matrix-product.js';
import { symmetricEigen } from '../core/symmetric-eigen.js';
import { PmgError } from '../errors/pmg-error.js';

export interface PcaModel {
  /** Input width d. */
  dim: number;
  /** Number of components k. */
  k: number;
  mean: Float64Array;
  /** Component j is components.subarray(j*d, (j+1)*d), unit length. */
  components: Float64Array;
  /** Variance along each component (the covariance's eigenvalues, decreasing). */
  variances: Float64Array;
  /** Share of the total variance each component explains. */
  explainedRatio: Float64Array;
}

/**
 * Fit on the rows `fitRows` (indices; all rows when absent) of `values`, an n × dim row-major matrix.
 * Needs at least 2 rows and k <= dim.
 */
export function fitPca(values: ArrayLike<number>, dim: number, k: number, fitRows?: readonly number[]): PcaModel {
  const n = values.length / dim;
  if (!Number.isInteger(dim) || dim < 1 || !Number.isInteger(n))
    throw new PmgError('invalid-argument', `pca: ${values.length} values are not rows of width ${dim}`);
  if (!Number.isInteger(k) || k < 1 || k > dim)
    throw new PmgError('invalid-argument', `pca: ${k} components asked of ${dim}-wide rows; use 1 to ${dim}`, { details: { field: 'pca' } });
  const rows = fitRows ?? Array.from({ length: n }, (_, i) => i);
  if (rows.length < 2) throw new PmgError('invalid-argument', `pca: fitting needs at least 2 rows, got ${rows.length}`);
  const m = rows.length;
  const mean = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j]! += values[r * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= m;
  // Centred rows, transposed (dim × m), so the covariance is one A·Aᵀ product.
  const centredT = new Float64Array(dim * m);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) centredT[j * m + i] = values[r * dim + j]! - mean[j]!;
  });
  const covariance = new Float64Array(dim * dim);
  addProductTransposed(dim, dim, m, block(centredT, m), block(centredT, m), block(covariance, dim), 1 / (m - 1), true);
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) covariance[i * dim + j] = covariance[j * dim + i]!;
  const { values: eigenvalues, vectors } = symmetricEigen(covariance, dim, true);
  let total = 0;
  for (const v of eigenvalues) total += Math.max(0, v);
  const components = new Float64Array(k * dim);
  const variances = new Float64Array(k);
  const explainedRatio = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const source = dim - 1 - c;
    const vector = vectors!.subarray(source * dim, (source + 1) * dim);
    let big = 0;
    for (let j = 1; j < dim; j++) if (Math.abs(vector[j]!) > Math.abs(vector[big]!)) big = j;
    const sign = vector[big]! < 0 ? -1 : 1;
    for (let j = 0; j < dim; j++) components[c * dim + j] = sign * vector[j]!;
    variances[c] = Math.max(0, eigenvalues[source]!);
    explainedRatio[c] = total > 0 ? variances[c]! / total : 0;
  }
  return { dim, k, mean, components, variances, explainedRatio };
}

/** Project n × dim rows onto the components: an n × k row-major matrix. */
export function pcaTransform(model: PcaModel, values: ArrayLike<number>): Float32Array {
  const { dim, k, mean, components } = model;
  const n = values.length / dim;
  if (!Number.isInteger(n)) throw new PmgError('invalid-argument', `pca: ${values.length} values are not rows of width ${dim}`);
  const out = new Float32Array(n * k);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) centred[j] = values[i * dim + j]! - mean[j]!;
    for (let c = 0; c < k; c++) {
      let sum = 0;
      for (let j = 0; j < dim; j++) sum += centred[j]! * components[c * dim + j]!;
      out[i * k + c] = sum;
    }
  }
  return out;
}
