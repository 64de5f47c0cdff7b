/**
 * Cholesky factor of a symmetric positive definite matrix and the congruence Lᵀ S L, in float64
 * (Golub & Van Loan, "Matrix Computations", 4.2; written here from the mathematics). Both are blocked so
 * that nearly all of their n³/6 and 2n³/3 multiply-adds run in core/matrix-product.ts.
 */
import { addProductTransposed, block, dot } from './matrix-product.js';

const PANEL = 64;

/**
 * Lower-triangular L with L Lᵀ = `matrix` (n x n row-major; its lower triangle is read), zeros above the
 * diagonal; undefined when a pivot is not positive (the matrix is not numerically positive definite).
 * Left-looking by panels of 64 columns: the panel is first reduced by all earlier columns in one
 * product, then factored column by column.
 */
export function choleskyLower(matrix: Float64Array, n: number): Float64Array | undefined {
  if (matrix.length !== n * n) throw new RangeError(`choleskyLower: ${matrix.length} values for a ${n}x${n} matrix`);
  const l = new Float64Array(n * n);
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const j1 = Math.min(n, j0 + PANEL);
    for (let i = j0; i < n; i++) for (let j = j0; j < Math.min(j1, i + 1); j++) l[i * n + j] = matrix[i * n + j]!;
    // Panel -= L[j0:, :j0] L[j0:j1, :j0]ᵀ
    addProductTransposed(n - j0, j1 - j0, j0, block(l, n, j0, 0), block(l, n, j0, 0), block(l, n, j0, j0), -1);
    for (let j = j0; j < j1; j++) {
      const rj = j * n;
      const pivot = l[rj + j]! - dot(l, rj, l, rj, j0, j);
      if (!(pivot > 0) || !Number.isFinite(pivot)) return undefined;
      const root = Math.sqrt(pivot);
      l[rj + j] = root;
      for (let i = j + 1; i < n; i++) {
        const ri = i * n;
        l[ri + j] = (l[ri + j]! - dot(l, ri, l, rj, j0, j)) / root;
      }
    }
  }
  // The panel products also wrote above the diagonal inside each diagonal block.
  for (let i = 0; i < n; i++) l.fill(0, i * n + i + 1, (i + 1) * n);
  return l;
}

/**
 * The symmetric Lᵀ S L (row-major n x n), for L lower triangular and S symmetric. Lᵀ S L has the
 * eigenvalues of (L Lᵀ) S.
 * With T the lower triangle of S (diagonal halved), S = T + Tᵀ and Lᵀ S L = Z + Zᵀ with Z = Lᵀ (T L):
 * T L is lower triangular (n³/6 multiply-adds, formed here transposed as Yᵀ = Lᵀ Tᵀ) and
 * Z = Lᵀ Y (n³/3), n³/2 in all, as LAPACK's dsygst. Every product skips the blocks that are zero.
 */
export function congruence(l: Float64Array, s: Float64Array, n: number): Float64Array {
  // U = Lᵀ: row j of U is column j of L (zero left of j). T: the lower triangle of S, half diagonal.
  const u = new Float64Array(n * n);
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      u[k * n + i] = l[i * n + k]!;
      t[i * n + k] = s[i * n + k]!;
    }
    u[i * n + i] = l[i * n + i]!;
    t[i * n + i] = s[i * n + i]! / 2;
  }
  // Yᵀ[j][i] = (T L)[i][j] = Σ_k U[j][k] T[i][k], non-zero for j <= k <= i: blocks J <= I, depth j0..i1.
  const yt = new Float64Array(n * n);
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const j1 = Math.min(n, j0 + PANEL);
    for (let i0 = j0; i0 < n; i0 += PANEL) {
      const i1 = Math.min(n, i0 + PANEL);
      addProductTransposed(j1 - j0, i1 - i0, i1 - j0, block(u, n, j0, j0), block(t, n, i0, j0), block(yt, n, j0, i0));
    }
  }
  // Z[i][j] = Σ_k U[i][k] Yᵀ[j][k], non-zero for k >= max(i, j). T's buffer is reused for Z.
  const z = t;
  z.fill(0);
  for (let i0 = 0; i0 < n; i0 += PANEL) {
    const i1 = Math.min(n, i0 + PANEL);
    for (let j0 = 0; j0 < n; j0 += PANEL) {
      const j1 = Math.min(n, j0 + PANEL);
      const k0 = Math.max(i0, j0);
      addProductTransposed(i1 - i0, j1 - j0, n - k0, block(u, n, i0, k0), block(yt, n, j0, k0), block(z, n, i0, j0));
    }
  }
  const out = yt;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const value = z[i * n + j]! + z[j * n + i]!;
      out[i * n + j] = value;
      out[j * n + i] = value;
    }
  }
  return out;
}
