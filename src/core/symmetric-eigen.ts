/**
 * Eigenvalues (and optionally eigenvectors) of a real symmetric matrix, in float64, by the cyclic
 * Jacobi method: plane rotations zero the off-diagonal entries one pair at a time until their
 * squared sum is below 1e-30 of the matrix's squared Frobenius norm (or 100 sweeps).
 * Jacobi is slow for large n (each sweep costs about 4 n^3 operations) but very accurate,
 * including for tiny eigenvalues of near-singular matrices, which is what FID needs.
 */
export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** When asked for: eigenvector j (of values[j], unit length) is vectors.subarray(j*n, (j+1)*n). */
  vectors?: Float64Array;
}

/** `matrix` is n x n row-major; only its symmetric part is used (it is averaged with its transpose). */
export function symmetricEigen(matrix: Float64Array, n: number, withVectors = false): SymmetricEigen {
  if (matrix.length !== n * n) throw new RangeError(`symmetricEigen: ${matrix.length} values for a ${n}x${n} matrix`);
  const a = new Float64Array(n * n);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const value = (matrix[i * n + j]! + matrix[j * n + i]!) / 2;
      a[i * n + j] = value;
      norm += value * value;
    }
  }
  // v is stored row-major with v[k*n + j] = component k of eigenvector j.
  const v = withVectors ? new Float64Array(n * n) : undefined;
  if (v) for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off <= 1e-30 * norm || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          if (k === p || k === q) continue;
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          const newKp = c * akp - s * akq;
          const newKq = s * akp + c * akq;
          a[k * n + p] = newKp;
          a[p * n + k] = newKp;
          a[k * n + q] = newKq;
          a[q * n + k] = newKq;
        }
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        if (v) {
          for (let k = 0; k < n; k++) {
            const vkp = v[k * n + p]!;
            const vkq = v[k * n + q]!;
            v[k * n + p] = c * vkp - s * vkq;
            v[k * n + q] = s * vkp + c * vkq;
          }
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i]! - a[j * n + j]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  if (!v) return { values };
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    for (let k = 0; k < n; k++) vectors[to * n + k] = v[k * n + from]!;
  });
  return { values, vectors };
}
